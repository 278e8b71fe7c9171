"""Private pools from the FileDescriptorProtos a service reports, in any order."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from trademesh.notification.v1 import notification_pb2
from trademesh.options.v1 import options_pb2

from edge.contracts import Contracts
from edge.discovery.pool import PoolError, build_pool, dependency_order, digest, find_services
from mesh.options import AccessRule
from tests.unit.edge.discovery._probe import (
    FILENAME,
    GET_PROBE,
    LIST_PROBES,
    SERVICE,
    probe_file,
    with_dependencies,
)


def _names(files: list[descriptor_pb2.FileDescriptorProto]) -> list[str]:
    return [f.name for f in files]


def test_files_come_after_their_imports_whatever_order_they_arrive_in() -> None:
    files = with_dependencies([probe_file(GET_PROBE)])
    ordered = dependency_order({f.name: f for f in reversed(files)})
    names = _names(ordered)
    assert set(names) == set(_names(files))
    for proto in ordered:
        for imported in proto.dependency:
            assert names.index(imported) < names.index(proto.name), (imported, proto.name)
    assert names[-1] == FILENAME


def test_a_private_pool_holds_the_service_with_options_read_by_contracts() -> None:
    pool = build_pool(reversed(with_dependencies([probe_file(GET_PROBE, LIST_PROBES)])))
    assert pool is not descriptor_pool.Default()
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindServiceByName(SERVICE)

    contracts = Contracts.build([("probe", s) for s in find_services(pool, [SERVICE])])
    get = contracts.find(f"/{SERVICE}/{GET_PROBE}")
    listing = contracts.find(f"/{SERVICE}/{LIST_PROBES}")
    assert get is not None and listing is not None
    assert get.service == "probe"
    assert get.access == AccessRule(public=True)
    assert [r.get for r in get.http_rules] == ["/api/v1/probe/{name}"]
    assert get.success_code == 200
    assert listing.access == AccessRule(roles=frozenset({"trader"}))
    assert listing.success_code == 202
    assert get.request_class(name="x").name == "x"
    assert get.request_class.DESCRIPTOR.file.pool is pool


def test_imports_the_service_did_not_send_come_from_our_own_pool_when_we_know_them() -> None:
    pool = build_pool([probe_file(GET_PROBE)])  # google/api and our options left out
    assert pool.FindFileByName("google/api/annotations.proto").name
    assert pool.FindServiceByName(SERVICE).methods_by_name[GET_PROBE]


def test_an_import_nobody_has_is_refused_naming_the_importer_and_the_file() -> None:
    proto = probe_file(GET_PROBE)
    proto.dependency.append("acme/unknown.proto")
    with pytest.raises(PoolError, match=f"{FILENAME} imports acme/unknown.proto"):
        build_pool([proto])


def test_an_import_cycle_is_refused() -> None:
    a = descriptor_pb2.FileDescriptorProto(name="a.proto", dependency=["b.proto"])
    b = descriptor_pb2.FileDescriptorProto(name="b.proto", dependency=["a.proto"])
    with pytest.raises(PoolError, match="import cycle"):
        build_pool([a, b])


def test_two_different_files_of_one_name_are_refused() -> None:
    other = probe_file(GET_PROBE, LIST_PROBES)
    with pytest.raises(PoolError, match=f"two different files named {FILENAME}"):
        build_pool([probe_file(GET_PROBE), other])
    assert build_pool([probe_file(GET_PROBE), probe_file(GET_PROBE)])


def test_a_file_the_pool_cannot_take_is_refused_naming_it() -> None:
    proto = probe_file(GET_PROBE)
    proto.service[0].method[0].input_type = ".trademesh.probe.v1.Missing"
    with pytest.raises(PoolError, match=FILENAME):
        build_pool([proto])


def test_a_service_missing_from_the_files_is_named() -> None:
    pool = build_pool([probe_file(GET_PROBE)])
    with pytest.raises(PoolError, match=r"acme\.Nothing"):
        find_services(pool, ["acme.Nothing"])


def test_a_changed_compiled_in_contract_lives_beside_the_compiled_one() -> None:
    proto = descriptor_pb2.FileDescriptorProto()
    notification_pb2.DESCRIPTOR.CopyToProto(proto)
    service = proto.service[0]
    extra = service.method.add()
    extra.CopyFrom(service.method[0])
    extra.name = "Extra"
    pool = build_pool([proto])
    reflected = pool.FindServiceByName(f"{proto.package}.{service.name}")
    assert "Extra" in reflected.methods_by_name
    compiled = notification_pb2.DESCRIPTOR.services_by_name[service.name]
    assert "Extra" not in compiled.methods_by_name


def test_digest_ignores_order_and_sees_every_change() -> None:
    files = with_dependencies([probe_file(GET_PROBE)])
    assert digest(files) == digest(reversed(files))
    assert digest(files) != digest(with_dependencies([probe_file(GET_PROBE, LIST_PROBES)]))
    changed = probe_file(GET_PROBE)
    access = changed.service[0].method[0].options.Extensions[options_pb2.access]
    access.public = False
    access.roles.append("admin")
    assert digest([*files[:-1], changed]) != digest(files)

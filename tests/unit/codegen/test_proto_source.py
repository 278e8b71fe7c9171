"""Rendering a compiled descriptor back to .proto source loses nothing protoc compiles."""

from __future__ import annotations

from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2

from mesh.codegen import Layout, collect_third_party
from mesh.codegen._proto_source import _quote, build_pool, render_proto
from mesh.codegen.protoc import describe
from mesh.codegen.third_party import ThirdPartyProtos, _protovalidate_descriptor, first_party_files

WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"


def _without_source_info(
    files: list[descriptor_pb2.FileDescriptorProto],
) -> dict[str, bytes]:
    stripped = {}
    for file in files:
        copy = descriptor_pb2.FileDescriptorProto()
        copy.CopyFrom(file)
        copy.ClearField("source_code_info")
        stripped[copy.name] = copy.SerializeToString(deterministic=True)
    return stripped


def test_validate_proto_compiles_to_the_descriptor_protovalidate_ships(tmp_path: Path) -> None:
    rendered = ThirdPartyProtos().resolve("buf/validate/validate.proto")
    assert rendered is not None
    source = tmp_path / "src"
    (source / "buf/validate").mkdir(parents=True)
    (source / "buf/validate/validate.proto").write_bytes(rendered.content)
    compiled = describe(
        include_dirs=[source, WELL_KNOWN],
        files=["buf/validate/validate.proto"],
        scratch=tmp_path / "out",
    )
    ours = [file for file in compiled.file if file.name == "buf/validate/validate.proto"]
    shipped = _protovalidate_descriptor()
    assert _without_source_info(ours) == _without_source_info([shipped])
    assert "(buf.validate.predefined)" in rendered.content.decode()


def test_contracts_survive_a_round_trip(repo_layout: Layout, tmp_path: Path) -> None:
    # Our contracts use what validate.proto does not: proto3, maps, services, streaming,
    # and aggregate custom options. Render each compiled file and compile it again.
    collect_third_party(repo_layout)
    include = [repo_layout.proto_dir, repo_layout.protos_dir]
    ours = first_party_files(repo_layout.proto_dir)
    original = describe(include_dirs=include, files=ours, scratch=tmp_path / "first")
    pool = build_pool(list(original.file))
    source = tmp_path / "rendered"
    for file in original.file:
        if file.name in ours:
            target = source / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render_proto(file, pool))
    again = describe(
        include_dirs=[source, repo_layout.protos_dir], files=ours, scratch=tmp_path / "second"
    )
    first = _without_source_info([file for file in original.file if file.name in ours])
    second = _without_source_info([file for file in again.file if file.name in ours])
    assert first == second


def test_string_literals_are_escaped() -> None:
    assert _quote('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
    assert _quote("line\nnext\ttab\x01") == '"line\\nnext\\ttab\\001"'
    assert _quote("déjà") == '"déjà"'

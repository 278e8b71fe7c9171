"""Third-party imports resolve to the installed packages' files, never to committed copies."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

from mesh.codegen import CodegenError, Layout, collect_third_party
from mesh.codegen.third_party import ThirdPartyProtos, import_closure
from tests.unit.codegen.conftest import REPO


def test_closure_of_the_contracts() -> None:
    files = {file.path: file for file in import_closure(REPO / "proto", ThirdPartyProtos())}
    assert {
        "google/api/annotations.proto",
        "google/api/http.proto",
        "google/type/money.proto",
        "google/protobuf/descriptor.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/field_mask.proto",
        "buf/validate/validate.proto",
    } <= set(files)
    googleapis = f"googleapis-common-protos {metadata.version('googleapis-common-protos')}"
    assert files["google/api/http.proto"].origin == googleapis
    assert files["google/protobuf/descriptor.proto"].origin.startswith("grpcio-tools ")
    assert files["google/protobuf/descriptor.proto"].well_known
    validate = files["buf/validate/validate.proto"]
    assert validate.origin == f"protovalidate {metadata.version('protovalidate')}"
    assert validate.needs_python
    assert not any(file.needs_python for path, file in files.items() if path != validate.path)
    assert not any(path.startswith("trademesh/") for path in files)


def test_collect_copies_the_closure_into_the_build_dir(repo_layout: Layout) -> None:
    files = collect_third_party(repo_layout)
    copied = sorted(
        path.relative_to(repo_layout.protos_dir).as_posix()
        for path in repo_layout.protos_dir.rglob("*.proto")
    )
    assert copied == [file.path for file in files]
    assert b"package google.api;" in (repo_layout.protos_dir / "google/api/http.proto").read_bytes()


def test_an_unknown_import_names_the_importer(tmp_path: Path) -> None:
    proto = tmp_path / "proto" / "acme" / "v1"
    proto.mkdir(parents=True)
    (proto / "a.proto").write_text('syntax = "proto3";\nimport "nowhere/missing.proto";\n')
    with pytest.raises(
        CodegenError, match=re.escape("acme/v1/a.proto imports 'nowhere/missing.proto'")
    ):
        import_closure(tmp_path / "proto", ThirdPartyProtos())


def test_a_committed_copy_of_a_third_party_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "proto" / "google" / "api"
    copy.mkdir(parents=True)
    (copy / "http.proto").write_text('syntax = "proto3";\n')
    with pytest.raises(CodegenError, match=re.escape("google/api/http.proto")):
        import_closure(tmp_path / "proto", ThirdPartyProtos())

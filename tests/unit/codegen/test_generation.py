"""gen/ is generated deterministically, importable, and checked for freshness."""

from __future__ import annotations

import io
from pathlib import Path

from mesh.codegen import Layout, check, compare_trees, generate, render
from mesh.codegen.cli import main
from tests.unit.codegen.conftest import REPO

TRADING = "trademesh/trading/v1/trading_pb2.py"


def test_committed_gen_is_fresh(repo_layout: Layout) -> None:
    report = check(repo_layout)
    assert report.clean, "gen/ is stale:\n" + "\n".join(report.lines())


def test_an_altered_file_is_reported_stale(checkout: Layout) -> None:
    target = checkout.gen_dir / TRADING
    target.write_bytes(target.read_bytes() + b"# edited by hand\n")
    report = check(checkout)
    assert (report.stale, report.missing, report.extra) == ([TRADING], [], [])


def test_missing_and_extra_files_are_reported(checkout: Layout) -> None:
    (checkout.gen_dir / "trademesh/identity/v1/identity_pb2.pyi").unlink()
    (checkout.gen_dir / "trademesh/identity/v1/leftover_pb2.py").write_text("")
    report = check(checkout)
    assert report.missing == ["trademesh/identity/v1/identity_pb2.pyi"]
    assert report.extra == ["trademesh/identity/v1/leftover_pb2.py"]
    assert report.stale == []


def test_a_proto_change_makes_its_modules_stale(checkout: Layout) -> None:
    proto = checkout.proto_dir / "trademesh/trading/v1/trading.proto"
    text = proto.read_text()
    proto.write_text(
        text.replace(
            "  bool trading_disabled = 6;", "  bool trading_disabled = 6;\n  string note = 8;"
        )
    )
    report = check(checkout)
    assert set(report.stale) == {TRADING, TRADING + "i"}


def test_check_command_names_stale_files_and_fails(checkout: Layout) -> None:
    target = checkout.gen_dir / TRADING
    target.write_bytes(b"")
    out = io.StringIO()
    arguments = ["--root", str(checkout.root), "--build-dir", str(checkout.build_dir), "check"]
    assert main(arguments, out=out) == 1
    assert TRADING in out.getvalue()
    assert "python -m mesh.codegen gen" in out.getvalue()


def test_generate_repairs_gen_and_removes_leftovers(checkout: Layout) -> None:
    (checkout.gen_dir / TRADING).write_bytes(b"broken")
    stray = checkout.gen_dir / "trademesh/retired/v1"
    stray.mkdir(parents=True)
    (stray / "retired_pb2.py").write_text("")
    report = generate(checkout)
    assert report.stale == [TRADING]
    assert report.extra == ["trademesh/retired/v1/retired_pb2.py"]
    assert not (checkout.gen_dir / "trademesh/retired").exists()
    assert check(checkout).clean
    out = io.StringIO()
    arguments = ["--root", str(checkout.root), "--build-dir", str(checkout.build_dir), "gen"]
    assert main(arguments, out=out) == 0
    assert "already up to date" in out.getvalue()


def test_output_is_byte_identical_across_runs(repo_layout: Layout, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    render(repo_layout, first)
    render(repo_layout, second)
    report = compare_trees(first, second)
    assert report.clean
    assert len(list(first.rglob("*_pb2.py"))) >= 12


def test_every_generated_folder_is_a_typed_package() -> None:
    gen = REPO / "gen"
    for module in gen.rglob("*.py"):
        folder = module.parent
        while folder != gen:
            assert (folder / "__init__.py").is_file(), folder
            folder = folder.parent
    assert (gen / "trademesh" / "py.typed").is_file()
    assert (gen / "buf" / "py.typed").is_file()


def test_stubs_and_grpc_modules_are_generated_where_due() -> None:
    domain = REPO / "gen/trademesh/trading/v1"
    for name in (
        "trading_pb2.py",
        "trading_pb2.pyi",
        "trading_pb2_grpc.py",
        "trading_pb2_grpc.pyi",
    ):
        assert (domain / name).is_file(), name
    # No services in events.proto, so no gRPC module for it.
    assert (domain / "events_pb2.pyi").is_file()
    assert not (domain / "events_pb2_grpc.py").exists()


def test_third_party_protos_are_not_committed() -> None:
    assert sorted(path.name for path in (REPO / "proto").iterdir()) == ["trademesh"]
    assert sorted(path.name for path in (REPO / "gen").iterdir() if path.name != "__pycache__") == [
        "buf",
        "trademesh",
    ]
    assert not list((REPO / "gen").rglob("*.proto"))


def test_generated_modules_import_from_anywhere() -> None:
    import buf.validate.validate_pb2
    import trademesh.identity.v1.identity_pb2_grpc

    assert Path(trademesh.identity.v1.identity_pb2_grpc.__file__).is_relative_to(REPO / "gen")
    assert buf.validate.validate_pb2.DESCRIPTOR.package == "buf.validate"

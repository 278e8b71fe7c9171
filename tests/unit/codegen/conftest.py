"""Fixtures for the code generation tests: the checkout, and disposable copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mesh.codegen import CodegenError, Layout, find_buf

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def repo_layout(tmp_path: Path) -> Layout:
    """The real checkout, with a private build directory; tests never write into it."""
    return Layout.at(REPO, build_dir=tmp_path / "build")


@pytest.fixture
def checkout(tmp_path: Path) -> Layout:
    """A copy of the checkout's buf.yaml, proto/ and gen/ that a test may change."""
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copyfile(REPO / "buf.yaml", root / "buf.yaml")
    shutil.copytree(REPO / "proto", root / "proto")
    shutil.copytree(REPO / "gen", root / "gen", ignore=shutil.ignore_patterns("__pycache__"))
    return Layout.at(root, build_dir=tmp_path / "build")


@pytest.fixture(scope="session")
def buf_binary() -> Path:
    try:
        return find_buf()
    except CodegenError as error:
        pytest.fail(f"buf is required for this test and was not found: {error}")

"""Run grpc_tools' protoc with the Python, gRPC and mypy-protobuf generators."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path

from google.protobuf import descriptor_pb2

from mesh.codegen.errors import CodegenError

__all__ = ["Output", "describe", "run_protoc"]


class Output(Enum):
    """A protoc generator and the files it writes."""

    PYTHON = "python"  # *_pb2.py
    GRPC = "grpc_python"  # *_pb2_grpc.py
    MYPY = "mypy"  # *_pb2.pyi
    MYPY_GRPC = "mypy_grpc"  # *_pb2_grpc.pyi

    @property
    def plugin(self) -> str | None:
        """The external plugin executable; None for generators built into grpc_tools."""
        return f"protoc-gen-{self.value}" if self in (Output.MYPY, Output.MYPY_GRPC) else None


def _plugin_path(name: str) -> Path:
    # The venv's scripts sit next to its python; sys.executable is not resolved on purpose,
    # since a venv's python is a symlink to the base interpreter.
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found is None:
        raise CodegenError(
            f"{name} not found next to {sys.executable} or on PATH; install mypy-protobuf"
        )
    return Path(found)


def _protoc(arguments: Sequence[str]) -> None:
    command = [sys.executable, "-m", "grpc_tools.protoc", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise CodegenError(f"protoc failed (exit {result.returncode}):\n{detail}")


def run_protoc(
    *,
    include_dirs: Sequence[Path],
    files: Sequence[str],
    out_dir: Path,
    outputs: Sequence[Output],
) -> None:
    """Generate ``outputs`` for ``files`` (import paths, relative to an include dir)."""
    if not files:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    arguments = [f"--proto_path={directory}" for directory in include_dirs]
    for output in outputs:
        if output.plugin is not None:
            arguments.append(f"--plugin={output.plugin}={_plugin_path(output.plugin)}")
        arguments.append(f"--{output.value}_out={out_dir}")
    # Sorted input makes the output independent of how the files were found.
    _protoc([*arguments, *sorted(files)])


def describe(
    *, include_dirs: Sequence[Path], files: Sequence[str], scratch: Path
) -> descriptor_pb2.FileDescriptorSet:
    """Compile ``files`` and their imports into one descriptor set."""
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / "descriptors.binpb"
    arguments = [f"--proto_path={directory}" for directory in include_dirs]
    _protoc([*arguments, "--include_imports", f"--descriptor_set_out={target}", *sorted(files)])
    return descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes())

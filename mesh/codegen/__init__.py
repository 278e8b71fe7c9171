"""Code generation for the protobuf contracts: gen/ from proto/, freshness, buf lint/breaking.

Third-party imports come from the installed Python packages and are copied into the build
directory (``.trademesh/build``) for every run; buf never needs the Buf Schema Registry.
"""

from __future__ import annotations

from mesh.codegen.buf import BUF_VERSION, DEFAULT_AGAINST, BufResult, breaking, find_buf, lint
from mesh.codegen.errors import CodegenError
from mesh.codegen.generation import (
    GenerationReport,
    check,
    collect_third_party,
    compare_trees,
    generate,
    render,
)
from mesh.codegen.layout import Layout

__all__ = [
    "BUF_VERSION",
    "DEFAULT_AGAINST",
    "BufResult",
    "CodegenError",
    "GenerationReport",
    "Layout",
    "breaking",
    "check",
    "collect_third_party",
    "compare_trees",
    "find_buf",
    "generate",
    "lint",
    "render",
]

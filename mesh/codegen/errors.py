"""The one exception the code generation machinery raises."""

from __future__ import annotations

__all__ = ["CodegenError"]


class CodegenError(Exception):
    """A generation, check, lint or breaking step could not complete."""

"""Errors the identity store raises; the domain layer turns them into domain errors."""

from __future__ import annotations

from mesh.paging import InvalidPageToken
from mesh.store import StoreError, UnsupportedDatabase

__all__ = [
    "DuplicateEmail",
    "InvalidPageToken",
    "KeyRingConflict",
    "StoreError",
    "UnsupportedDatabase",
]


class DuplicateEmail(StoreError):
    """Another live user already has this email."""


class KeyRingConflict(StoreError):
    """The stored key ring changed since it was read (another instance saved first)."""

"""Errors the identity store raises; the domain layer turns them into domain errors."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for store failures the caller can act on."""


class DuplicateEmail(StoreError):
    """Another live user already has this email."""


class KeyRingConflict(StoreError):
    """The stored key ring changed since it was read (another instance saved first)."""


class InvalidPageToken(StoreError, ValueError):
    """A page token was not produced by this store or belongs to a different query."""


class UnsupportedDatabase(StoreError, ValueError):
    """The database URL names a database this store does not support."""

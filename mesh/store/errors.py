"""Errors the shared store layer raises; each service turns them into domain errors."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for store failures the caller can act on."""


class UnsupportedDatabase(StoreError, ValueError):
    """The database URL names a database the store layer does not support."""


class SchemaTooNew(StoreError):
    """The database carries migrations this release does not know (a newer release ran)."""

"""The exception raised when mesh TLS material cannot be loaded or created."""

from __future__ import annotations


class TlsError(Exception):
    """Mesh TLS material is missing, corrupt or unusable; the message names the file."""

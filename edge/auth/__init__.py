"""Edge authentication: bearer tokens verified and cached, revocations honoured, and access
rules applied before a call is made."""

from __future__ import annotations

from edge.auth.access import authorize
from edge.auth.authenticator import EdgeAuth, RevocationFeed
from edge.auth.config import EdgeAuthConfig

__all__ = ["EdgeAuth", "EdgeAuthConfig", "RevocationFeed", "authorize"]

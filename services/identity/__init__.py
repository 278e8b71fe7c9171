"""The identity service: users, roles, sessions, refresh tokens and the signing keys (JWKS)."""

from __future__ import annotations

from services.identity.app import Identity, build_identity
from services.identity.auth import AuthService, SignedIn
from services.identity.config import IdentityConfig
from services.identity.events import Publisher, discard
from services.identity.keys import SigningKeys
from services.identity.models import Caller, Introspection, TokenPair, UserUpdate
from services.identity.passwords import PasswordHasher
from services.identity.servicer import IdentityServicer
from services.identity.sessions import Sessions
from services.identity.store import Store, open_store
from services.identity.users import UserService

__all__ = [
    "AuthService",
    "Caller",
    "Identity",
    "IdentityConfig",
    "IdentityServicer",
    "Introspection",
    "PasswordHasher",
    "Publisher",
    "Sessions",
    "SignedIn",
    "SigningKeys",
    "Store",
    "TokenPair",
    "UserService",
    "UserUpdate",
    "build_identity",
    "discard",
    "open_store",
]

"""Ed25519 public keys as JWKs and JWK Sets (RFC 7517, RFC 8037), and their thumbprints."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mesh.tokens.errors import KeyRingError

ALGORITHM = "EdDSA"
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_ED25519_KEY_BYTES = 32


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url decoding; raises ValueError on anything else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 SHA-256 thumbprint of the key's JWK, used as its `kid`."""
    # RFC 7638: only the required members, lexicographic order, no whitespace.
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(_raw_public(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(public_key: Ed25519PublicKey, kid: str) -> dict[str, str]:
    """The public JWK of an Ed25519 verification key."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(_raw_public(public_key)),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


def jwk_set(keys: Iterable[tuple[str, Ed25519PublicKey]]) -> dict[str, list[dict[str, str]]]:
    """A JWK Set document from (kid, public key) pairs."""
    return {"keys": [public_jwk(public_key, kid) for kid, public_key in keys]}


def parse_jwk_set(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of a JWK Set by kid.

    Keys of other types or uses are skipped, as RFC 7517 asks; a malformed Ed25519 key or a
    repeated kid makes the whole set invalid.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise KeyRingError("JWK Set must be an object with a 'keys' list")
    keys: dict[str, Ed25519PublicKey] = {}
    for index, entry in enumerate(document["keys"]):
        if not isinstance(entry, Mapping):
            raise KeyRingError(f"JWK Set entry {index} is not an object")
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            raise KeyRingError(f"JWK Set entry {index} has no kid")
        if kid in keys:
            raise KeyRingError(f"JWK Set repeats kid {kid!r}")
        x = entry.get("x")
        try:
            if not isinstance(x, str):
                raise ValueError("x is not a string")
            raw = b64url_decode(x)
            if len(raw) != _ED25519_KEY_BYTES:
                raise ValueError("wrong key length")
            keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise KeyRingError(f"JWK Set entry {index} has an invalid Ed25519 key") from None
    return keys

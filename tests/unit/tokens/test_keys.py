"""Signing keys, kids, JWKS documents and the key ring's persistence."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mesh.tokens import (
    KeyRing,
    KeyRingError,
    SigningKey,
    TokenConfig,
    TokenIssuer,
    TokenVerifier,
    jwk_thumbprint,
    parse_jwk_set,
)
from mesh.tokens.jwks import b64url_decode

from .conftest import FakeClock


def test_kid_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037 appendix A.1 (key) and A.3 (its JWK thumbprint).
    private = Ed25519PrivateKey.from_private_bytes(
        b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    )
    assert jwk_thumbprint(private.public_key()) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_jwks_lists_public_ed25519_keys(ring: KeyRing) -> None:
    jwks = ring.jwks()
    assert jwks == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": jwks["keys"][0]["x"],
                "kid": ring.current.kid,
                "alg": "EdDSA",
                "use": "sig",
            }
        ]
    }
    assert len(b64url_decode(jwks["keys"][0]["x"])) == 32
    assert "d" not in jwks["keys"][0]
    assert list(parse_jwk_set(jwks)) == [ring.current.kid]


def test_jwks_parsing_skips_foreign_keys_and_rejects_broken_ones(ring: KeyRing) -> None:
    own = ring.jwks()["keys"][0]
    rsa = {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"}
    encryption = {**own, "kid": "enc", "use": "enc"}
    assert list(parse_jwk_set({"keys": [rsa, encryption, own]})) == [own["kid"]]

    with pytest.raises(KeyRingError, match="invalid Ed25519 key"):
        parse_jwk_set({"keys": [{**own, "x": own["x"][:-2]}]})
    with pytest.raises(KeyRingError, match="repeats kid"):
        parse_jwk_set({"keys": [own, own]})
    with pytest.raises(KeyRingError, match="'keys' list"):
        parse_jwk_set({"keys": "nope"})


def test_ring_round_trips_through_json(
    ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    old = ring.current
    clock.advance(60)
    ring.rotate()
    data = json.loads(json.dumps(ring.to_dict()))
    assert all(k["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----") for k in data["keys"])

    restored = KeyRing.from_dict(data, retention_seconds=config.key_retention_seconds, now=clock)

    assert restored.current.kid == ring.current.kid
    assert [k.kid for k in restored.keys()] == [ring.current.kid, old.kid]
    assert restored.find(old.kid) is not None
    assert restored.find(old.kid).retired_at == clock()  # type: ignore[union-attr]
    # Tokens signed by the restored ring verify against the original's JWKS and vice versa.
    from_restored = TokenIssuer(config, restored, now=clock).issue_refresh(
        subject="u1", session_id="s1"
    )
    from_original = TokenIssuer(config, ring, now=clock).issue_refresh(
        subject="u1", session_id="s1"
    )
    assert TokenVerifier(ring.jwks(), config, now=clock).verify_refresh(from_restored.token)
    assert TokenVerifier(restored.jwks(), config, now=clock).verify_refresh(from_original.token)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["keys"][0].update(kid="forged"), "does not match its kid"),
        (lambda d: d["keys"][0].update(private_key_pem="junk"), "unreadable private key"),
        (lambda d: d["keys"][0].update(retired_at=1.0), "exactly one current key"),
        (lambda d: d["keys"].append(dict(d["keys"][0])), "exactly one current key"),
        (lambda d: d["keys"][0].update(created_at="yesterday"), "invalid created_at"),
        (lambda d: d.update(version=99), "version 1"),
    ],
)
def test_ring_rejects_tampered_or_broken_data(
    ring: KeyRing, config: TokenConfig, mutate: object, message: str
) -> None:
    data = json.loads(json.dumps(ring.to_dict()))
    mutate(data)  # type: ignore[operator]
    with pytest.raises(KeyRingError, match=message):
        KeyRing.from_dict(data, retention_seconds=config.key_retention_seconds)


def test_signing_key_repr_hides_the_private_key(ring: KeyRing) -> None:
    assert "private_key" not in repr(ring.current)
    assert isinstance(ring.current, SigningKey)

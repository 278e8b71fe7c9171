"""Issuing and verifying tokens: the round trip and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mesh.tokens import (
    Claims,
    KeyRing,
    TokenConfig,
    TokenError,
    TokenErrorReason,
    TokenIssuer,
    TokenType,
    TokenVerifier,
)

from .conftest import FakeClock

SUBJECT = "user-7f3a"
SESSION = "session-91c2"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(config: TokenConfig, clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    now = int(clock())
    payload: dict[str, Any] = {
        "iss": config.issuer,
        "aud": config.audience,
        "sub": SUBJECT,
        "sid": SESSION,
        "jti": "jti-1",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "typ": "access",
        "roles": ["trader"],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not _DROP}


_DROP = object()


def _sign(ring: KeyRing, payload: dict[str, Any] | bytes, **headers: Any) -> str:
    """Sign with the ring's current key, as identity would, but with any payload."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return jwt.PyJWS().encode(
        raw,
        ring.current.private_key,
        algorithm="EdDSA",
        headers={"kid": ring.current.kid, **headers},
    )


def _reason(verifier: TokenVerifier, token: str, token_type: TokenType = TokenType.ACCESS) -> str:
    with pytest.raises(TokenError) as excinfo:
        verifier.verify(token, token_type)
    error = excinfo.value
    # Nothing from the token ever reaches the message.
    for secret in filter(None, (SUBJECT, SESSION, token[:20], token[-20:])):
        assert secret not in str(error) and secret not in repr(error)
    assert error.__cause__ is None
    return error.reason


# -- round trip ----------------------------------------------------------------------------


def test_access_token_round_trip(
    issuer: TokenIssuer, verifier: TokenVerifier, ring: KeyRing, clock: FakeClock
) -> None:
    issued = issuer.issue_access(subject=SUBJECT, session_id=SESSION, roles=["trader", "viewer"])

    claims = verifier.verify_access(issued.token)

    assert claims == issued.claims
    assert claims == Claims(
        subject=SUBJECT,
        session_id=SESSION,
        roles=("trader", "viewer"),
        token_id=issued.claims.token_id,
        issued_at=int(clock()),
        expires_at=int(clock()) + 15 * 60,
        token_type=TokenType.ACCESS,
    )
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == "EdDSA" and header["kid"] == ring.current.kid
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp", "typ", "roles"}
    assert payload["typ"] == "access"


def test_refresh_token_round_trip(
    issuer: TokenIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    issued = issuer.issue_refresh(subject=SUBJECT, session_id=SESSION)

    claims = verifier.verify_refresh(issued.token)

    assert claims.token_type is TokenType.REFRESH
    assert claims.roles == ()
    assert claims.expires_at == int(clock()) + 7 * 24 * 3600
    assert "roles" not in jwt.decode(issued.token, options={"verify_signature": False})


def test_every_token_gets_its_own_id(issuer: TokenIssuer) -> None:
    ids = {
        issuer.issue_refresh(subject=SUBJECT, session_id=SESSION).claims.token_id for _ in range(20)
    }
    assert len(ids) == 20


def test_issued_token_repr_hides_the_token(issuer: TokenIssuer) -> None:
    issued = issuer.issue_access(subject=SUBJECT, session_id=SESSION, roles=[])
    assert issued.token not in repr(issued)


# -- algorithm attacks ---------------------------------------------------------------------


def test_alg_none_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    header = {"alg": "none", "kid": ring.current.kid, "typ": "JWT"}
    token = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_payload(config, clock)).encode())}."
    )
    assert _reason(verifier, token) == TokenErrorReason.BAD_ALGORITHM


@pytest.mark.parametrize(
    "secret_form",
    ["pem", "raw", "jwk_x"],
)
def test_hs256_signed_with_the_public_key_is_refused(
    verifier: TokenVerifier,
    ring: KeyRing,
    config: TokenConfig,
    clock: FakeClock,
    secret_form: str,
) -> None:
    # The classic key-confusion attack: the published key used as an HMAC secret.
    public = ring.current.public_key
    secret = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "raw": public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        "jwk_x": ring.jwks()["keys"][0]["x"].encode(),
    }[secret_form]
    header = _b64(json.dumps({"alg": "HS256", "kid": ring.current.kid, "typ": "JWT"}).encode())
    body = _b64(json.dumps(_payload(config, clock)).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{_b64(signature)}"

    assert _reason(verifier, token) == TokenErrorReason.BAD_ALGORITHM


@pytest.mark.parametrize("alg", ["HS256", "ES256", "RS256", "eddsa", "Ed25519", ""])
def test_any_algorithm_but_eddsa_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock, alg: str
) -> None:
    token = _sign(ring, _payload(config, clock))
    _header, body, signature = token.split(".")
    forged_header = _b64(json.dumps({"alg": alg, "kid": ring.current.kid}).encode())
    assert (
        _reason(verifier, f"{forged_header}.{body}.{signature}") == TokenErrorReason.BAD_ALGORITHM
    )


def test_unsupported_header_parameters_are_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = _sign(ring, _payload(config, clock), crit=["exp"], exp=1)
    assert _reason(verifier, token) == TokenErrorReason.MALFORMED


# -- keys and signatures -------------------------------------------------------------------


def test_unknown_kid_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = _sign(ring, _payload(config, clock), kid="not-a-known-kid")
    assert _reason(verifier, token) == TokenErrorReason.UNKNOWN_KID


def test_missing_kid_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = jwt.encode(_payload(config, clock), ring.current.private_key, algorithm="EdDSA")
    assert _reason(verifier, token) == TokenErrorReason.UNKNOWN_KID


def test_tampered_payload_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_access(subject=SUBJECT, session_id=SESSION, roles=["viewer"]).token
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["roles"] = ["admin"]
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert _reason(verifier, forged) == TokenErrorReason.BAD_SIGNATURE


def test_tampered_signature_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_access(subject=SUBJECT, session_id=SESSION, roles=[]).token
    header, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    assert (
        _reason(verifier, f"{header}.{body}.{_b64(bytes(raw))}") == TokenErrorReason.BAD_SIGNATURE
    )


def test_signature_by_another_key_under_a_known_kid_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = jwt.encode(
        _payload(config, clock),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": ring.current.kid},
    )
    assert _reason(verifier, token) == TokenErrorReason.BAD_SIGNATURE


# -- claims --------------------------------------------------------------------------------


def test_expired_token_is_refused_after_the_leeway(
    issuer: TokenIssuer, verifier: TokenVerifier, config: TokenConfig, clock: FakeClock
) -> None:
    token = issuer.issue_access(subject=SUBJECT, session_id=SESSION, roles=[]).token
    clock.advance(config.access_ttl_seconds + config.leeway_seconds - 1)
    assert verifier.verify_access(token).subject == SUBJECT
    clock.advance(1)
    assert _reason(verifier, token) == TokenErrorReason.EXPIRED


def test_token_from_the_future_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    start = int(clock()) + config.leeway_seconds + 5
    token = _sign(ring, _payload(config, clock, nbf=start, iat=start, exp=start + 600))
    assert _reason(verifier, token) == TokenErrorReason.NOT_YET_VALID
    clock.advance(5)
    assert verifier.verify_access(token).subject == SUBJECT


def test_issued_in_the_future_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = _sign(ring, _payload(config, clock, iat=int(clock()) + 3600))
    assert _reason(verifier, token) == TokenErrorReason.NOT_YET_VALID


@pytest.mark.parametrize("audience", ["other-platform", ["other-platform", "partners"]])
def test_wrong_audience_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock, audience: Any
) -> None:
    token = _sign(ring, _payload(config, clock, aud=audience))
    assert _reason(verifier, token) == TokenErrorReason.WRONG_AUDIENCE


def test_audience_list_containing_ours_is_accepted(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = _sign(ring, _payload(config, clock, aud=["partners", config.audience]))
    assert verifier.verify_access(token).subject == SUBJECT


def test_wrong_issuer_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = _sign(ring, _payload(config, clock, iss="https://evil.example"))
    assert _reason(verifier, token) == TokenErrorReason.WRONG_ISSUER


def test_refresh_token_is_not_an_access_token(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_refresh(subject=SUBJECT, session_id=SESSION).token
    assert _reason(verifier, token, TokenType.ACCESS) == TokenErrorReason.WRONG_TYPE


def test_access_token_is_not_a_refresh_token(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_access(subject=SUBJECT, session_id=SESSION, roles=["trader"]).token
    assert _reason(verifier, token, TokenType.REFRESH) == TokenErrorReason.WRONG_TYPE


@pytest.mark.parametrize(
    "claim", ["iss", "aud", "sub", "sid", "jti", "iat", "nbf", "exp", "typ", "roles"]
)
def test_missing_claim_is_refused(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock, claim: str
) -> None:
    token = _sign(ring, _payload(config, clock, **{claim: _DROP}))
    with pytest.raises(TokenError) as excinfo:
        verifier.verify_access(token)
    assert excinfo.value.reason == TokenErrorReason.MISSING_CLAIM
    assert excinfo.value.claim == claim


def test_refresh_tokens_need_no_roles(
    verifier: TokenVerifier, ring: KeyRing, config: TokenConfig, clock: FakeClock
) -> None:
    token = _sign(ring, _payload(config, clock, typ="refresh", roles=_DROP))
    assert verifier.verify_refresh(token).roles == ()


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "tomorrow"},
        {"iat": True},
        {"sub": 42},
        {"sid": ""},
        {"roles": "admin"},
        {"roles": ["trader", 1]},
        {"aud": 7},
    ],
)
def test_claims_of_the_wrong_shape_are_refused(
    verifier: TokenVerifier,
    ring: KeyRing,
    config: TokenConfig,
    clock: FakeClock,
    overrides: dict[str, Any],
) -> None:
    token = _sign(ring, _payload(config, clock, **overrides))
    assert _reason(verifier, token) == TokenErrorReason.MALFORMED


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "a.b.c", "a.b", "W10.e30.", "x" * 10_000],
)
def test_garbage_is_malformed(verifier: TokenVerifier, token: str) -> None:
    assert _reason(verifier, token) == TokenErrorReason.MALFORMED


def test_signed_payload_that_is_not_an_object_is_malformed(
    verifier: TokenVerifier, ring: KeyRing
) -> None:
    assert _reason(verifier, _sign(ring, b'["sub", "admin"]')) == TokenErrorReason.MALFORMED
    assert _reason(verifier, _sign(ring, b"not json")) == TokenErrorReason.MALFORMED


def test_non_string_token_is_malformed(verifier: TokenVerifier) -> None:
    with pytest.raises(TokenError) as excinfo:
        verifier.verify_access(b"bytes.are.not.accepted")  # type: ignore[arg-type]
    assert excinfo.value.reason == TokenErrorReason.MALFORMED

"""Between the domain's records and the identity.v1 messages: one table per enum."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.identity.v1 import identity_pb2

from mesh.errors import FieldViolation, InvalidArgument
from services.identity.events import timestamp
from services.identity.models import Introspection, TokenPair, UserUpdate
from services.identity.store import Role, UserRecord, UserStatus

ROLES: dict[Role, identity_pb2.Role.ValueType] = {
    Role.VIEWER: identity_pb2.ROLE_VIEWER,
    Role.TRADER: identity_pb2.ROLE_TRADER,
    Role.ADMIN: identity_pb2.ROLE_ADMIN,
}
_ROLES_BY_NUMBER = {number: role for role, number in ROLES.items()}

STATUSES: dict[UserStatus, identity_pb2.UserStatus.ValueType] = {
    UserStatus.ACTIVE: identity_pb2.USER_STATUS_ACTIVE,
    UserStatus.DISABLED: identity_pb2.USER_STATUS_DISABLED,
}
_STATUSES_BY_NUMBER = {number: status for status, number in STATUSES.items()}


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])


def role_messages(roles: Iterable[str]) -> list[identity_pb2.Role.ValueType]:
    """Role names (from a record or a token) as enum values, in enum order; names this
    release does not know are left out."""
    known = {str(role): number for role, number in ROLES.items()}
    return sorted({known[name] for name in roles if name in known})


def role_from_message(value: int, *, field: str) -> Role:
    role = _ROLES_BY_NUMBER.get(identity_pb2.Role.ValueType(value))
    if role is None:
        raise _invalid(field, "must be VIEWER, TRADER or ADMIN")
    return role


def roles_from_message(values: Sequence[int], *, field: str) -> frozenset[Role]:
    return frozenset(role_from_message(value, field=field) for value in values)


def status_from_message(value: int, *, field: str) -> UserStatus | None:
    """None for UNSPECIFIED; an undefined number is invalid."""
    if value == identity_pb2.USER_STATUS_UNSPECIFIED:
        return None
    status = _STATUSES_BY_NUMBER.get(identity_pb2.UserStatus.ValueType(value))
    if status is None:
        raise _invalid(field, "must be ACTIVE or DISABLED")
    return status


def user_message(user: UserRecord) -> identity_pb2.User:
    return identity_pb2.User(
        user_id=user.user_id,
        email=user.email,
        display_name=user.display_name,
        roles=role_messages(str(role) for role in user.roles),
        status=STATUSES[user.status],
        create_time=timestamp(user.created_at),
        update_time=timestamp(user.updated_at),
    )


def token_pair_message(pair: TokenPair) -> identity_pb2.TokenPair:
    return identity_pb2.TokenPair(
        access_token=pair.access_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
        access_token_expire_time=timestamp(pair.access_expires_at),
        refresh_token=pair.refresh_token,
        refresh_token_expire_time=timestamp(pair.refresh_expires_at),
        session_id=pair.session_id,
    )


def validate_response(result: Introspection) -> identity_pb2.ValidateResponse:
    if not result.valid:
        return identity_pb2.ValidateResponse(valid=False, invalid_reason=result.reason)
    expire_time: Timestamp | None = None
    if result.expires_at is not None:
        expire_time = timestamp(result.expires_at)
    return identity_pb2.ValidateResponse(
        valid=True,
        user_id=result.user_id,
        roles=role_messages(result.roles),
        session_id=result.session_id,
        expire_time=expire_time,
    )


def user_update(request: identity_pb2.UpdateUserRequest) -> UserUpdate:
    paths = frozenset(request.update_mask.paths)
    user = request.user
    return UserUpdate(
        paths=paths,
        email=user.email,
        display_name=user.display_name,
        roles=roles_from_message(user.roles, field="user.roles")
        if "roles" in paths
        else frozenset(),
        status=status_from_message(user.status, field="user.status") if "status" in paths else None,
    )


def jwks_response(
    document: Mapping[str, Sequence[Mapping[str, str]]],
) -> identity_pb2.GetJwksResponse:
    keys = [
        identity_pb2.Jwk(
            kty=key.get("kty", ""),
            crv=key.get("crv", ""),
            x=key.get("x", ""),
            y=key.get("y", ""),
            kid=key.get("kid", ""),
            alg=key.get("alg", ""),
            use=key.get("use", ""),
        )
        for key in document.get("keys", ())
    ]
    return identity_pb2.GetJwksResponse(keys=keys)

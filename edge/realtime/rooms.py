"""The room table: which server stream feeds which Socket.IO room, read from the `room` option
of every reachable server-streaming RPC, and a room name parsed back into that RPC and the
request that opens it, checked against the caller's claims."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from edge.contracts import Contracts, MethodContract
from edge.errors import EdgeError, bad_request, error_info
from mesh.context import Principal

# A `{name}` the request has no field for is the caller's claim of that name.
CLAIMS: dict[str, Callable[[Principal], str]] = {
    "user_id": lambda principal: principal.user_id,
    "session_id": lambda principal: principal.session_id,
}

_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_VALUE = r"([^:{}\s]+)"
_MAX_ROOM_LENGTH = 256

_SCALARS: dict[int, Callable[[str], object]] = {
    FieldDescriptor.TYPE_STRING: str,
    FieldDescriptor.TYPE_INT32: int,
    FieldDescriptor.TYPE_INT64: int,
    FieldDescriptor.TYPE_UINT32: int,
    FieldDescriptor.TYPE_UINT64: int,
    FieldDescriptor.TYPE_SINT32: int,
    FieldDescriptor.TYPE_SINT64: int,
}


class RoomTableError(ValueError):
    """A room option the table cannot serve, found at start-up."""


@dataclass(frozen=True)
class Binding:
    """One `{name}` of a pattern: a request field, or else a claim of the caller."""

    name: str
    field: FieldDescriptor | None
    claim: Callable[[Principal], str] | None


@dataclass(frozen=True)
class RoomPattern:
    pattern: str  # `quotes:{symbols}`
    method: MethodContract
    prefix: str  # the literal text before the first variable: `quotes:`
    bindings: tuple[Binding, ...]
    regex: re.Pattern[str]

    @property
    def claim_bound(self) -> bool:
        """Whether every variable is a claim: such a room names its member, so the claim check
        alone decides who may join it."""
        return all(b.field is None for b in self.bindings)

    @classmethod
    def compile(cls, method: MethodContract) -> RoomPattern:
        pattern = method.room
        names = _VARIABLE.findall(pattern)
        literal = _VARIABLE.split(pattern)[::2]
        if not names or any("{" in part or "}" in part for part in literal):
            raise RoomTableError(
                f"{method.name}: room {pattern!r} is not a `prefix:{{field}}` pattern"
            )
        bindings = tuple(_binding(method, name) for name in names)
        regex = re.compile(
            "".join(
                re.escape(part) + (_VALUE if i < len(names) else "")
                for i, part in enumerate(literal)
            )
        )
        return cls(pattern, method, literal[0], bindings, regex)

    def format(self, values: dict[str, str]) -> str:
        return _VARIABLE.sub(lambda m: values[m.group(1)], self.pattern)


def _binding(method: MethodContract, name: str) -> Binding:
    field = method.input.fields_by_name.get(name)
    if field is None:
        claim = CLAIMS.get(name)
        if claim is None:
            raise RoomTableError(
                f"{method.name}: room variable {{{name}}} is neither a field of "
                f"{method.input.full_name} nor a claim ({', '.join(sorted(CLAIMS))})"
            )
        return Binding(name, None, claim)
    if field.type not in _SCALARS:
        raise RoomTableError(f"{method.name}: room variable {{{name}}} is not a string or integer")
    return Binding(name, field, None)


@dataclass(frozen=True)
class RoomTarget:
    """A room a caller asked for, with what opens its stream."""

    room: str
    pattern: RoomPattern
    request: Message

    @property
    def method(self) -> MethodContract:
        return self.pattern.method


def _invalid(description: str) -> EdgeError:
    return EdgeError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"room: {description}",
        details=[error_info("INVALID_ROOM"), bad_request("room", description)],
    )


@dataclass(frozen=True)
class RoomTable:
    patterns: tuple[RoomPattern, ...]

    @classmethod
    def build(cls, contracts: Contracts | Iterable[MethodContract]) -> RoomTable:
        """Every reachable server stream with a room option; two patterns with the same prefix
        are refused, naming both methods."""
        by_prefix: dict[str, RoomPattern] = {}
        for method in contracts:
            if not (method.room and method.server_streaming and method.reachable):
                continue
            if method.client_streaming:
                continue  # bidirectional streams need a client side rooms cannot give
            compiled = RoomPattern.compile(method)
            other = by_prefix.get(compiled.prefix)
            if other is not None:
                raise RoomTableError(
                    f"rooms {other.pattern!r} of {other.method.name} and {compiled.pattern!r} "
                    f"of {method.name} share the prefix {compiled.prefix!r}"
                )
            by_prefix[compiled.prefix] = compiled
        return cls(tuple(sorted(by_prefix.values(), key=lambda p: p.prefix)))

    def pattern_for(self, room: str) -> RoomPattern:
        for pattern in self.patterns:
            if room.startswith(pattern.prefix):
                return pattern
        known = ", ".join(p.pattern for p in self.patterns)
        raise _invalid(f"unknown room {room!r}; rooms are {known}")

    def resolve(self, room: object, principal: Principal) -> RoomTarget:
        """The method and request behind `room`; INVALID_ARGUMENT naming `room` when it is not
        one, PERMISSION_DENIED when it names a claim that is not the caller's."""
        if not isinstance(room, str) or not room:
            raise _invalid("must be a non-empty string such as 'quotes:AAPL'")
        if len(room) > _MAX_ROOM_LENGTH:
            raise _invalid(f"must be at most {_MAX_ROOM_LENGTH} characters")
        pattern = self.pattern_for(room)
        matched = pattern.regex.fullmatch(room)
        if matched is None:
            raise _invalid(f"{room!r} does not match {pattern.pattern!r}")
        request = pattern.method.request_class()
        for binding, value in zip(pattern.bindings, matched.groups(), strict=True):
            if binding.claim is not None:
                if value != binding.claim(principal):
                    raise EdgeError(
                        grpc.StatusCode.PERMISSION_DENIED,
                        f"room {room!r} belongs to another {binding.name}",
                        details=[error_info("ROOM_FORBIDDEN", room=room)],
                    )
                continue
            assert binding.field is not None
            _set(request, binding.field, value)
        return RoomTarget(room, pattern, request)


def _set(request: Message, field: FieldDescriptor, value: str) -> None:
    try:
        converted = _SCALARS[field.type](value)
    except ValueError:
        raise _invalid(f"{{{field.name}}} must be an integer, not {value!r}") from None
    if field.is_repeated:
        getattr(request, field.name).append(converted)
    else:
        setattr(request, field.name, converted)

"""Per-call context in contextvars: set by server interceptors, read by loggers and clients.

Nothing here is threaded through signatures: a servicer calling another service through the
mesh client passes on the correlation id, the user's token and the remaining deadline because
the client reads them from here.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Principal:
    """The authenticated end user of a call (from a verified access token)."""

    user_id: str
    session_id: str
    roles: frozenset[str]
    token: str = field(repr=False)


@dataclass(frozen=True)
class CallContext:
    correlation_id: str = ""
    method: str = ""
    caller_service: str | None = None  # from the mTLS peer certificate
    principal: Principal | None = None
    deadline: float | None = None  # time.monotonic() at which the caller gives up

    def remaining_seconds(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


_EMPTY = CallContext()  # frozen, so sharing it as the default is safe
_current: contextvars.ContextVar[CallContext] = contextvars.ContextVar(
    "trademesh_call",
    default=_EMPTY,
)


def current() -> CallContext:
    return _current.get()


def bind(**changes: object) -> AbstractContextManager[CallContext]:
    """Set fields of the current call context for the duration of a block."""
    return _Binding(changes)


_FIELDS = frozenset(each.name for each in fields(CallContext))


class _Binding:
    """`bind`'s context manager: a plain object rather than a generator, and the new context
    filled in directly rather than through `dataclasses.replace`, since every call runs this."""

    __slots__ = ("_changes", "_token")

    def __init__(self, changes: dict[str, object]) -> None:
        self._changes = changes

    def __enter__(self) -> CallContext:
        changes = self._changes
        if not changes.keys() <= _FIELDS:
            unknown = ", ".join(sorted(changes.keys() - _FIELDS))
            raise TypeError(f"CallContext has no field(s) {unknown}")
        # CallContext has no __init__ logic beyond storing its fields (no __post_init__).
        ctx: CallContext = object.__new__(CallContext)
        attributes = ctx.__dict__
        attributes.update(_current.get().__dict__)
        attributes.update(changes)
        self._token = _current.set(ctx)
        return ctx

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)

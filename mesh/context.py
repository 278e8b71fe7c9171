"""Per-call context in contextvars: set by server interceptors, read by loggers and clients.

Nothing here is threaded through signatures: a servicer calling another service through the
mesh client passes on the correlation id, the user's token and the remaining deadline because
the client reads them from here.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace


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


@contextmanager
def bind(**changes: object) -> Iterator[CallContext]:
    """Set fields of the current call context for the duration of a block."""
    ctx = replace(_current.get(), **changes)  # type: ignore[arg-type]
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)

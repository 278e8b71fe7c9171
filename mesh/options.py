"""The trademesh method options of an RPC (access, success code, room) and its HTTP bindings,
read from any method descriptor, whichever pool it came from (compiled in or reflected)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import MethodDescriptor
from trademesh.options.v1 import options_pb2

# google.api.http as an extension handle (its stub types it as a plain FieldDescriptor).
_HTTP: Any = annotations_pb2.http


@dataclass(frozen=True, slots=True)
class AccessRule:
    public: bool = False
    roles: frozenset[str] = frozenset()
    callers: frozenset[str] = frozenset()


PUBLIC = AccessRule(public=True)


def access_of(method: MethodDescriptor) -> AccessRule | None:
    """The method's access rule, or None when it declares none (and so is refused)."""
    options = method.GetOptions()
    if not options.HasExtension(options_pb2.access):
        return None
    access = options.Extensions[options_pb2.access]
    return AccessRule(
        public=access.public, roles=frozenset(access.roles), callers=frozenset(access.callers)
    )


def success_code_of(method: MethodDescriptor) -> int:
    """The HTTP status of a successful answer: the option's value, else 200."""
    return method.GetOptions().Extensions[options_pb2.http_success_code] or 200


def room_of(method: MethodDescriptor) -> str:
    """The Socket.IO room pattern a server stream feeds (`quotes:{symbols}`), or ""."""
    return method.GetOptions().Extensions[options_pb2.room]


def http_rules_of(method: MethodDescriptor) -> tuple[http_pb2.HttpRule, ...]:
    """The method's `google.api.http` binding followed by its additional bindings, each
    without nested bindings; empty when the method has no REST binding."""
    options = method.GetOptions()
    if not options.HasExtension(_HTTP):
        return ()
    primary = http_pb2.HttpRule()
    primary.CopyFrom(options.Extensions[_HTTP])
    extra = tuple(primary.additional_bindings)
    del primary.additional_bindings[:]
    return (primary, *extra)


_RETRY_SAFE = frozenset(
    {
        descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
        descriptor_pb2.MethodOptions.IDEMPOTENT,
    }
)


def retry_safe_of(method: MethodDescriptor) -> bool:
    """Whether a call may be sent again: the method declares no side effects, or that
    repeating it changes nothing (protobuf's `idempotency_level`)."""
    return method.GetOptions().idempotency_level in _RETRY_SAFE


def compiled_method(full_method: str) -> MethodDescriptor | None:
    """The descriptor of `/pkg.Service/Method` among the compiled-in contracts, if any."""
    service, _, name = full_method.lstrip("/").partition("/")
    try:
        return descriptor_pool.Default().FindServiceByName(service).methods_by_name.get(name)
    except KeyError:
        return None

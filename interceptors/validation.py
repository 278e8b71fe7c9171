"""protovalidate on every request message; violations answer INVALID_ARGUMENT with BadRequest."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import protovalidate
from google.protobuf import message

from interceptors._handlers import Context, RpcInfo, ServerInterceptorBase, StreamNext, UnaryNext
from interceptors.errors import abort_internal, abort_with
from mesh.errors import FieldViolation, InvalidArgument

# Violations named in the status message; all of them are in the BadRequest detail.
_MESSAGE_VIOLATIONS = 3


def field_path(violation: protovalidate.Violation) -> str:
    """A violation's field as a path: `user.roles[0]`, `labels["env"]`; "" for the message."""
    path = violation.proto.field
    if path is None:
        return ""
    parts: list[str] = []
    for element in path.elements:
        part = ("." if parts else "") + element.field_name
        subscript = element.subscript
        if subscript is not None:
            value = subscript.value
            if isinstance(value, bool):
                part += f"[{'true' if value else 'false'}]"
            elif isinstance(value, str):
                part += f"[{json.dumps(value)}]"
            else:
                part += f"[{value}]"
        parts.append(part)
    return "".join(parts)


def violations_of(
    validator: protovalidate.Validator, request: message.Message
) -> list[FieldViolation]:
    return [
        FieldViolation(field=field_path(violation), description=violation.proto.message or "")
        for violation in validator.collect_violations(request)
    ]


def invalid_argument(violations: list[FieldViolation]) -> InvalidArgument:
    named = "; ".join(
        f"{violation.field}: {violation.description}" if violation.field else violation.description
        for violation in violations[:_MESSAGE_VIOLATIONS]
    )
    more = len(violations) - _MESSAGE_VIOLATIONS
    suffix = f" (and {more} more)" if more > 0 else ""
    return InvalidArgument(
        f"invalid request: {named}{suffix}", violations, reason="INVALID_REQUEST"
    )


class ValidationInterceptor(ServerInterceptorBase):
    """Validates each request against its buf.validate rules before the handler sees it.

    Streamed requests are validated as they arrive; the first invalid one ends the call.
    """

    def __init__(self, validator: protovalidate.Validator | None = None) -> None:
        # A validator compiles and caches each message type's rules on first use.
        self._validator = validator or protovalidate.Validator()

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        request = await self._checked(info, request, context)
        return await proceed(request, context)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        request = await self._checked(info, request, context)
        async with aclosing(proceed(request, context)) as responses:
            async for response in responses:
                yield response

    async def _checked(self, info: RpcInfo, request: Any, context: Context) -> Any:
        if info.request_streaming:
            return self._checked_stream(request, context)
        await self._check(request, context)
        return request

    async def _checked_stream(
        self, requests: AsyncIterator[Any], context: Context
    ) -> AsyncIterator[Any]:
        async for request in requests:
            await self._check(request, context)
            yield request

    async def _check(self, request: Any, context: Context) -> None:
        if not isinstance(request, message.Message):
            return  # a raw-bytes method has nothing to validate
        try:
            violations = violations_of(self._validator, request)
        except Exception as exc:  # a rule that fails to compile or evaluate is our bug
            await abort_internal(context, exc)
        if violations:
            await abort_with(context, invalid_argument(violations))


_RULE_OPTIONS = "buf.validate."


def has_rules(descriptor: Any) -> bool:
    """Whether a message type, or any message type inside it, declares buf.validate rules;
    a type without any has nothing to validate, whatever its values."""
    return _has_rules(descriptor, set())


def _has_rules(descriptor: Any, seen: set[str]) -> bool:
    if descriptor.full_name in seen:
        return False  # a recursive type: its rules, if any, are found where it started
    seen.add(descriptor.full_name)
    options: list[message.Message] = [descriptor.GetOptions()]
    options += [oneof.GetOptions() for oneof in descriptor.oneofs]
    options += [field.GetOptions() for field in descriptor.fields]
    for each in options:
        if any(field.full_name.startswith(_RULE_OPTIONS) for field, _ in each.ListFields()):
            return True
    return any(
        field.message_type is not None and _has_rules(field.message_type, seen)
        for field in descriptor.fields
    )

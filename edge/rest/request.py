"""The gRPC request of a REST call: body, query and path variables merged into one message as
google/api/http.proto maps them, and a PATCH's field mask filled from its body."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from edge.codec import CodecError, codec_for
from edge.errors import EdgeError, error_info
from edge.rest.query import Query, field_named, json_value, kind_of, merge_fields, query_fields
from edge.rest.routes import Route, RouteMatch

JSON = "application/json"
_FIELD_MASK = "google.protobuf.FieldMask"
_UPDATE_MASK = "update_mask"
_NO_BODY = object()


def build_request(
    match: RouteMatch, query: Query, body: bytes, content_type: str | None
) -> Message:
    """The request message; bad input raises `EdgeError` (400 naming the field as the client
    wrote it, 415 for a body that is not JSON)."""
    route = match.route
    message: Message
    body_json: Any = _NO_BODY
    if not route.body:
        if body:
            raise EdgeError.invalid("", f"{route.http_method} {route.template.text} takes no body")
        message = route.method.request_class()
    elif not body:
        message = route.method.request_class()
    else:
        _require_json(content_type)
        if route.body == "*":
            message = _decoded(route.method.input, body)
        else:
            message = route.method.request_class()
            body_json = _parsed(body)
            _merge_body_field(message, route.body, body_json)
    fields = [(name, param.path, value) for name, param, value in query_fields(route).values(query)]
    for name, path, kind in _variable_kinds(route):
        fields.append((name, path, json_value(name, kind, match.variables[name])))
    # After the body: a path value wins over the same field in the body, as in grpc-gateway.
    merge_fields(message, fields)
    if route.http_method == "PATCH" and body_json is not _NO_BODY:
        _fill_update_mask(message, route.method.input, route.body, body_json)
    return message


def _require_json(content_type: str | None) -> None:
    media, *parameters = (content_type or "").split(";")
    if media.strip().lower() != JSON:
        raise _unsupported(content_type, f"send the body as {JSON}")
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise _unsupported(content_type, "JSON bodies are read as UTF-8 only")


def _unsupported(content_type: str | None, why: str) -> EdgeError:
    given = repr(content_type) if content_type else "none"
    return EdgeError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"content type {given} is not supported: {why}",
        details=[error_info("UNSUPPORTED_MEDIA_TYPE", content_type=content_type or "")],
        http_status=415,
    )


def _decoded(descriptor: Descriptor, body: bytes) -> Message:
    try:
        return codec_for(descriptor).decode(body)
    except CodecError as error:
        raise EdgeError.invalid(error.field, error.description) from None


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:  # UnicodeDecodeError included
        raise EdgeError.invalid("", f"malformed JSON: {error}") from None


def _merge_body_field(message: Message, body: str, value: Any) -> None:
    """The body into the field it binds. A message body is an object whose keys the client
    wrote, so errors name fields within it (`detail.weight`); any other body is the field's
    value itself, so errors name the field (`symbols[0]`)."""
    *parents, name = body.split(".")
    target = message
    for part in parents:
        target = getattr(target, part)
    field = target.DESCRIPTOR.fields_by_name[name]
    object_body = (
        field.message_type is not None
        and not field.is_repeated
        and field.message_type.file.package != "google.protobuf"
    )
    try:
        if object_body:
            inner = getattr(target, name)
            codec_for(field.message_type).merge(value, inner)
            inner.SetInParent()
        else:
            codec_for(target.DESCRIPTOR).merge({name: value}, target)
    except CodecError as error:
        raise EdgeError.invalid(error.field, error.description) from None


@lru_cache(maxsize=1024)
def _variable_kinds(route: Route) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(name, field path, how its text is read) of each path variable, found once."""
    found = []
    for variable in route.template.variables:
        message: Descriptor | None = route.method.input
        field: FieldDescriptor | None = None
        for part in variable.field_path:
            assert message is not None  # the route table checked the path at build
            field = message.fields_by_name[part]
            message = field.message_type
        assert field is not None
        found.append((variable.name, variable.field_path, kind_of(field) or "text"))
    return tuple(found)


def _fill_update_mask(message: Message, request: Descriptor, body: str, value: Any) -> None:
    """A PATCH whose body is one message field, on a request with an `update_mask` the
    client left empty: the mask names the fields the body gives (grpc-gateway's rule)."""
    if "." in body or not isinstance(value, dict):
        return
    mask_field = request.fields_by_name.get(_UPDATE_MASK)
    body_field = request.fields_by_name[body]
    if (
        mask_field is None
        or mask_field.is_repeated
        or mask_field.message_type is None
        or mask_field.message_type.full_name != _FIELD_MASK
        or body_field.message_type is None
        or body_field.is_repeated
    ):
        return
    mask = getattr(message, _UPDATE_MASK)
    if mask.paths:
        return
    mask.paths.extend(sorted(mask_paths(body_field.message_type, value)))


def mask_paths(descriptor: Descriptor, value: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted proto-name paths of the fields a JSON object gives; nested messages are
    descended, while lists, maps and well-known types (Struct among them) end a path."""
    paths: list[str] = []
    for key, item in value.items():
        field = field_named(descriptor, key)
        if field is None:
            continue
        path = prefix + field.name
        inner = field.message_type
        if (
            inner is not None
            and not field.is_repeated
            and inner.file.package != "google.protobuf"
            and isinstance(item, dict)
            and item
        ):
            paths.extend(mask_paths(inner, item, path + "."))
        else:
            paths.append(path)
    return paths

"""Query parameters into request fields, as google/api/http.proto maps them: any field the path
and body leave free, by proto or JSON name, dotted for nested fields, repeated by repeating."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from edge.codec import CodecError, codec_for
from edge.errors import EdgeError
from edge.rest.routes import Route

Query = Mapping[str, list[str]] | Iterable[tuple[str, str]]

_F = FieldDescriptor
_INTEGERS = {
    _F.TYPE_INT32, _F.TYPE_INT64, _F.TYPE_UINT32, _F.TYPE_UINT64, _F.TYPE_SINT32,
    _F.TYPE_SINT64, _F.TYPE_FIXED32, _F.TYPE_FIXED64, _F.TYPE_SFIXED32, _F.TYPE_SFIXED64,
}  # fmt: skip
_FLOATS = {_F.TYPE_FLOAT, _F.TYPE_DOUBLE}
# Well-known types a query value can spell: their JSON form is one string or scalar.
_TEXT_TYPES = {"google.protobuf.Timestamp", "google.protobuf.Duration"}
_FIELD_MASK = "google.protobuf.FieldMask"
_WRAPPERS = {
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
}
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_UNDERSCORED = re.compile(r"_([a-z])")
_SPECIAL_FLOATS = {"NaN", "Infinity", "-Infinity"}
_MAX_CACHED_NAMES = 256


@dataclass(frozen=True)
class Param:
    """A query parameter resolved against the request message."""

    path: tuple[str, ...]  # proto field names from the request message
    kind: str  # "bool", "int", "float", "mask" or "text" (passed to the codec as written)
    repeated: bool
    oneof: tuple[tuple[str, ...], str] | None  # (path of its message, oneof name)


def json_value(name: str, kind: str, text: str) -> Any:
    """A query or path text as the JSON value the codec reads; only what JSON spells
    differently from a URL is converted here, the rest (ranges, enums, well-known types) is
    the codec's."""
    if kind == "bool":
        found = _BOOLS.get(text.lower())
        if found is None:
            raise EdgeError.invalid(name, f"expected true, false, 1 or 0, got {text!r}")
        return found
    if kind == "int":
        if not _INTEGER.fullmatch(text):
            raise EdgeError.invalid(name, f"expected an integer, got {text!r}")
        return int(text)
    if kind == "mask":
        # Clients name fields as the contracts do (`display_name`); JSON spells a mask's
        # paths in lowerCamelCase.
        return ",".join(_camel(path) for path in text.split(","))
    if kind == "float":
        if text in _SPECIAL_FLOATS:
            return text
        if not _NUMBER.fullmatch(text):
            raise EdgeError.invalid(name, f"expected a number, got {text!r}")
        return float(text)
    return text


def _camel(path: str) -> str:
    return _UNDERSCORED.sub(lambda found: found.group(1).upper(), path)


def kind_of(field: FieldDescriptor) -> str | None:
    """How a query or path value of this field is read, or None when one value cannot say it
    (a message other than the well-known types with a scalar JSON form)."""
    message = field.message_type
    if message is not None:
        if message.full_name in _TEXT_TYPES:
            return "text"
        if message.full_name == _FIELD_MASK:
            return "mask"
        if message.full_name in _WRAPPERS:
            return kind_of(message.fields_by_name["value"])
        return None
    if field.type == _F.TYPE_BOOL:
        return "bool"
    if field.type in _INTEGERS:
        return "int"
    if field.type in _FLOATS:
        return "float"
    return "text"


@cache
def _json_names(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    return {field.json_name: field for field in descriptor.fields}


def field_named(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    """A field by its proto name or its JSON name."""
    found: FieldDescriptor | None = descriptor.fields_by_name.get(name)
    return found if found is not None else _json_names(descriptor).get(name)


class QueryFields:
    """The query parameters one route accepts: names resolved on first use, then cached."""

    def __init__(self, descriptor: Descriptor, bound: tuple[tuple[str, ...], ...], why: str):
        self.descriptor = descriptor
        self.bound = bound  # field paths the path and body set: a parameter may not touch them
        self.why = why
        self._params: dict[str, Param] = {}

    def param(self, name: str) -> Param:
        found = self._params.get(name)
        if found is None:
            found = self._resolve(name)
            if len(self._params) < _MAX_CACHED_NAMES:
                self._params[name] = found
        return found

    def _resolve(self, name: str) -> Param:
        if not name:
            raise EdgeError.invalid(name, "a query parameter without a name")
        message = self.descriptor
        path: list[str] = []
        parts = name.split(".")
        for part in parts[:-1]:
            field = self._field(message, part, name)
            path.append(field.name)
            if field.is_repeated:
                raise EdgeError.invalid(name, f"{part!r} is repeated: name the whole field")
            if field.message_type is None or kind_of(field) is not None:
                raise EdgeError.invalid(name, f"{part!r} has no fields to name with '.'")
            message = field.message_type
        field = self._field(message, parts[-1], name)
        path.append(field.name)
        kind = kind_of(field)
        if kind is None:
            raise EdgeError.invalid(
                name, "names a message, not a value: give its fields (`name.field`)"
            )
        proto_path = tuple(path)
        for bound in self.bound:
            if bound[: len(proto_path)] == proto_path or proto_path[: len(bound)] == bound:
                raise EdgeError.invalid(name, self.why)
        oneof = field.containing_oneof
        return Param(
            path=proto_path,
            kind=kind,
            repeated=bool(field.is_repeated),
            oneof=(proto_path[:-1], oneof.name) if oneof is not None else None,
        )

    @staticmethod
    def _field(message: Descriptor, part: str, name: str) -> FieldDescriptor:
        field = field_named(message, part)
        if field is None:
            raise EdgeError.invalid(name, "unknown query parameter")
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            raise EdgeError.invalid(name, "a map cannot be given as a query parameter")
        return field

    def values(self, query: Query) -> list[tuple[str, Param, Any]]:
        """(name as written, its field, its JSON value) for each parameter given."""
        grouped: dict[str, list[str]] = {}
        items = query.items() if isinstance(query, Mapping) else _grouped(query)
        for name, texts in items:
            grouped.setdefault(name, []).extend([texts] if isinstance(texts, str) else texts)
        found: list[tuple[str, Param, Any]] = []
        oneofs: dict[tuple[tuple[str, ...], str], str] = {}
        spellings: dict[tuple[str, ...], str] = {}
        for name, texts in grouped.items():
            param = self.param(name)
            other = spellings.setdefault(param.path, name)
            if other != name:
                raise EdgeError.invalid(name, f"the same field as {other!r}: give it once")
            if param.oneof is not None:
                other = oneofs.setdefault(param.oneof, name)
                if other != name:
                    raise EdgeError.invalid(name, f"only one of {other!r} and {name!r} may be set")
            if param.repeated:
                found.append((name, param, [json_value(name, param.kind, t) for t in texts]))
            elif len(texts) > 1:
                raise EdgeError.invalid(name, "given more than once, but holds one value")
            else:
                found.append((name, param, json_value(name, param.kind, texts[0])))
        return found


def merge_fields(message: Message, fields: Iterable[tuple[str, tuple[str, ...], Any]]) -> None:
    """Sets each (name as the client wrote it, proto field path, JSON value) in `message`
    with one pass of the codec; when the codec refuses, the field it refused is named."""
    given = list(fields)
    if not given:
        return
    codec = codec_for(message.DESCRIPTOR)
    try:
        codec.merge(_nested(given), message)
    except CodecError as error:
        for name, path, value in given:
            try:
                codec.merge(_nested([(name, path, value)]), type(message)())
            except CodecError as alone:
                raise EdgeError.invalid(name, alone.description) from None
        raise EdgeError.invalid(error.field, error.description) from None


def apply_query(route: Route, query: Query, message: Message) -> None:
    merge_fields(message, ((n, p.path, v) for n, p, v in query_fields(route).values(query)))


def _nested(fields: list[tuple[str, tuple[str, ...], Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for _, path, value in fields:
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return root


def _grouped(query: Iterable[tuple[str, str]]) -> Iterable[tuple[str, list[str]]]:
    for name, text in query:
        yield name, [text]


@lru_cache(maxsize=1024)
def query_fields(route: Route) -> QueryFields:
    bound = [variable.field_path for variable in route.template.variables]
    why = "is set by the path"
    if route.body == "*":
        # The body carries every field; the query may name none (http.proto).
        return QueryFields(route.method.input, ((),), "this route reads the body, not the query")
    if route.body:
        bound.append(tuple(route.body.split(".")))
        why = "is set by the path or the body"
    return QueryFields(route.method.input, tuple(bound), why)

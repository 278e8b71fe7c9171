"""Readers and writers for the well-known types whose JSON form is not an object of fields:
Timestamp, Duration, FieldMask, Struct/Value/ListValue, the wrappers and Any."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from google.protobuf import field_mask_pb2, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError, Message

from edge.codec import _scalars, _time
from edge.codec.errors import Invalid

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]


class Compiled(Protocol):
    """What a well-known type needs of another message's compiled codec (for Any)."""

    message_class: type[Message]
    regular: bool
    read: Reader
    write: Writer


def _timestamp(_: Descriptor, __: Callable[[Descriptor], Compiled]) -> tuple[Reader, Writer]:
    return _time.read_timestamp, _time.write_timestamp


def _duration(_: Descriptor, __: Callable[[Descriptor], Compiled]) -> tuple[Reader, Writer]:
    return _time.read_duration, _time.write_duration


def _field_mask(_: Descriptor, __: Callable[[Descriptor], Compiled]) -> tuple[Reader, Writer]:
    def read(value: Any) -> dict[str, list[str]]:
        if type(value) is not str:
            raise Invalid('expected a field mask string such as "a.b,c"')
        mask = field_mask_pb2.FieldMask()
        try:
            mask.FromJsonString(value)
        except ValueError as error:
            raise Invalid(f"not a valid field mask: {error}") from None
        return {"paths": list(mask.paths)}

    def write(message: Any) -> str:
        try:
            return field_mask_pb2.FieldMask(paths=message.paths).ToJsonString()
        except ValueError as error:
            raise Invalid(str(error)) from None

    return read, write


class _Dynamic:
    """Struct, Value and ListValue of one descriptor pool, which nest in each other."""

    def __init__(self, value: Descriptor) -> None:
        fields = value.fields_by_name
        self.struct_class = message_factory.GetMessageClass(
            _scalars.message_type(fields["struct_value"])
        )

    def read_value(self, value: Any) -> dict[str, Any]:
        kind = type(value)
        if kind is str:
            return {"string_value": _scalars.read_string(value)}
        if kind is bool:
            return {"bool_value": value}
        if kind is int or kind is float:
            try:
                return {"number_value": float(value)}
            except OverflowError:
                raise Invalid(f"number out of range: {value}") from None
        if value is None:
            return {"null_value": 0}
        if kind is dict:
            return {"struct_value": self.read_struct(value)}
        if kind is list:
            return {"list_value": self.read_list(value)}
        raise Invalid(f"not a JSON value: {value!r}")

    def read_struct(self, value: Any) -> Message:
        # A message, not keyword arguments: the constructor takes a dict given for a Struct
        # field as the Struct's own content.
        if type(value) is not dict:
            raise Invalid("expected a JSON object")
        fields = {}
        read = self.read_value
        for key, item in value.items():
            try:
                fields[key] = read(item)
            except Invalid as bad:
                raise bad.within(key) from None
        return self.struct_class(fields=fields)

    def read_list(self, value: Any) -> dict[str, list[dict[str, Any]]]:
        if type(value) is not list:
            raise Invalid("expected a JSON array")
        read = self.read_value
        items = []
        for index, item in enumerate(value):
            try:
                items.append(read(item))
            except Invalid as bad:
                raise bad.within(f"[{index}]") from None
        return {"values": items}

    def write_value(self, message: Any) -> Any:
        which = message.WhichOneof("kind")
        if which is None or which == "null_value":
            return None
        if which == "number_value":
            number = message.number_value
            if number - number != 0:
                raise Invalid(f"a Value cannot hold {number}")
            return number
        if which == "struct_value":
            return self.write_struct(message.struct_value)
        if which == "list_value":
            return self.write_list(message.list_value)
        return getattr(message, which)

    def write_struct(self, message: Any) -> dict[str, Any]:
        write = self.write_value
        return {key: write(item) for key, item in message.fields.items()}

    def write_list(self, message: Any) -> list[Any]:
        write = self.write_value
        return [write(item) for item in message.values]


def _value(descriptor: Descriptor, _: Callable[[Descriptor], Compiled]) -> tuple[Reader, Writer]:
    dynamic = _Dynamic(descriptor)
    return dynamic.read_value, dynamic.write_value


def _struct(descriptor: Descriptor, _: Callable[[Descriptor], Compiled]) -> tuple[Reader, Writer]:
    dynamic = _Dynamic(
        _scalars.message_type(
            _scalars.message_type(descriptor.fields_by_name["fields"]).fields_by_name["value"]
        )
    )
    return dynamic.read_struct, dynamic.write_struct


def _list_value(
    descriptor: Descriptor, _: Callable[[Descriptor], Compiled]
) -> tuple[Reader, Writer]:
    dynamic = _Dynamic(_scalars.message_type(descriptor.fields_by_name["values"]))
    return dynamic.read_list, dynamic.write_list


def _wrapper(descriptor: Descriptor, _: Callable[[Descriptor], Compiled]) -> tuple[Reader, Writer]:
    field = descriptor.fields_by_name["value"]
    read_scalar = _scalars.scalar_reader(field)
    write_scalar = _scalars.scalar_writer(field)

    def read(value: Any) -> dict[str, Any]:
        return {"value": read_scalar(value)}

    if write_scalar is None:
        return read, lambda message: message.value
    return read, lambda message: write_scalar(message.value)


def _any(
    descriptor: Descriptor, compiled: Callable[[Descriptor], Compiled]
) -> tuple[Reader, Writer]:
    pool = descriptor.file.pool

    def resolve(type_url: Any) -> Compiled:
        if type(type_url) is not str:
            raise Invalid("expected a type URL string", "@type")
        try:
            return compiled(pool.FindMessageTypeByName(type_url.rpartition("/")[2]))
        except KeyError:
            raise Invalid(f"unknown type URL: {type_url!r}", "@type") from None

    def read(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise Invalid("expected a JSON object with @type")
        if not value:
            return {}
        if "@type" not in value:
            raise Invalid("@type is missing")
        type_url = value["@type"]
        inner = resolve(type_url)
        if inner.regular:
            argument = inner.read({k: v for k, v in value.items() if k != "@type"})
        elif "value" not in value:
            raise Invalid("expected a value beside @type")
        else:
            try:
                argument = inner.read(value["value"])
            except Invalid as bad:
                raise bad.within("value") from None
        message = inner.message_class(**argument) if type(argument) is dict else argument
        return {"type_url": type_url, "value": message.SerializeToString()}

    def write(message: Any) -> dict[str, Any]:
        if not message.ListFields():
            return {}
        type_url = message.type_url
        inner = resolve(type_url)
        unpacked = inner.message_class()
        try:
            unpacked.ParseFromString(message.value)
        except DecodeError:
            raise Invalid(f"Any value is not a valid {type_url}") from None
        if inner.regular:
            return {"@type": type_url, **inner.write(unpacked)}
        return {"@type": type_url, "value": inner.write(unpacked)}

    return read, write


_SPECIAL: dict[
    str, Callable[[Descriptor, Callable[[Descriptor], Compiled]], tuple[Reader, Writer]]
] = {
    "google.protobuf.Timestamp": _timestamp,
    "google.protobuf.Duration": _duration,
    "google.protobuf.FieldMask": _field_mask,
    "google.protobuf.Struct": _struct,
    "google.protobuf.Value": _value,
    "google.protobuf.ListValue": _list_value,
    "google.protobuf.Any": _any,
}


def special(
    descriptor: Descriptor, compiled: Callable[[Descriptor], Compiled]
) -> tuple[Reader, Writer] | None:
    """The reader and writer of a well-known type with its own JSON form, else None."""
    if descriptor.file.name == "google/protobuf/wrappers.proto":
        return _wrapper(descriptor, compiled)
    build = _SPECIAL.get(descriptor.full_name)
    return build(descriptor, compiled) if build else None

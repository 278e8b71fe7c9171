"""Fill any message generically (every field without validation rules, one member per
oneof, a few levels deep), to check schemas against what json_format writes for it."""

from __future__ import annotations

from google.protobuf import duration_pb2, struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from edge.docs.constraints import field_rules

_SCALARS: dict[int, object] = {
    FieldDescriptor.TYPE_DOUBLE: 1.5,
    FieldDescriptor.TYPE_FLOAT: 0.25,
    FieldDescriptor.TYPE_INT64: -(2**60),
    FieldDescriptor.TYPE_UINT64: 2**63,
    FieldDescriptor.TYPE_INT32: -7,
    FieldDescriptor.TYPE_FIXED64: 2**40,
    FieldDescriptor.TYPE_FIXED32: 7,
    FieldDescriptor.TYPE_BOOL: True,
    FieldDescriptor.TYPE_STRING: "text",
    FieldDescriptor.TYPE_BYTES: b"\x00\xff",
    FieldDescriptor.TYPE_UINT32: 2**31,
    FieldDescriptor.TYPE_SFIXED32: -8,
    FieldDescriptor.TYPE_SFIXED64: -(2**50),
    FieldDescriptor.TYPE_SINT32: -9,
    FieldDescriptor.TYPE_SINT64: -(2**45),
}


def fill(message: Message, depth: int = 3) -> Message:
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        message.FromJsonString("2026-12-02T08:00:00.25Z")  # type: ignore[attr-defined]
    elif name == "google.protobuf.Duration":
        message.FromJsonString("1.5s")  # type: ignore[attr-defined]
    elif name == "google.protobuf.FieldMask":
        message.FromJsonString("a,b.c")  # type: ignore[attr-defined]
    elif name == "google.protobuf.Struct":
        message.update({"a": [1, None, {"b": "c"}]})  # type: ignore[attr-defined]
    elif name == "google.protobuf.Value":
        message.CopyFrom(struct_pb2.Value(string_value="v"))
    elif name == "google.protobuf.Any":
        message.Pack(duration_pb2.Duration(seconds=2))  # type: ignore[attr-defined]
    elif depth > 0:
        _fields(message, depth)
    return message


def _fields(message: Message, depth: int) -> None:
    taken: set[str] = set()
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if (oneof is not None and oneof.name in taken) or field_rules(field) is not None:
            continue
        if oneof is not None:
            taken.add(oneof.name)
        value = getattr(message, field.name)
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key, item = entry.fields_by_name["key"], entry.fields_by_name["value"]
            map_key = _SCALARS[key.type] if key.type != FieldDescriptor.TYPE_BYTES else b""
            if item.message_type is not None:
                fill(value[map_key], depth - 1)
            else:
                value[map_key] = _value(item)
        elif field.is_repeated:
            if entry is not None:
                fill(value.add(), depth - 1)
            else:
                value.append(_value(field))
        elif entry is not None:
            fill(value, depth - 1)
            if not message.HasField(field.name):
                value.SetInParent()
        else:
            setattr(message, field.name, _value(field))


def _value(field: FieldDescriptor) -> object:
    if field.enum_type is not None:
        return field.enum_type.values[-1].number
    return _SCALARS[field.type]

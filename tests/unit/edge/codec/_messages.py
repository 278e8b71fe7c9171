"""A test-only file of messages with every field shape the proto3 JSON mapping knows, built
with descriptor_pb2 into a private DescriptorPool (as server reflection would give them)."""

from __future__ import annotations

from typing import Any

from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.message import Message

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

SCALARS = {
    "i32": _F.TYPE_INT32,
    "i64": _F.TYPE_INT64,
    "u32": _F.TYPE_UINT32,
    "u64": _F.TYPE_UINT64,
    "s32": _F.TYPE_SINT32,
    "s64": _F.TYPE_SINT64,
    "f32": _F.TYPE_FIXED32,
    "f64": _F.TYPE_FIXED64,
    "sf32": _F.TYPE_SFIXED32,
    "sf64": _F.TYPE_SFIXED64,
    "fl": _F.TYPE_FLOAT,
    "db": _F.TYPE_DOUBLE,
    "flag": _F.TYPE_BOOL,
    "text": _F.TYPE_STRING,
    "blob": _F.TYPE_BYTES,
}
WELL_KNOWN = {
    "ts": ".google.protobuf.Timestamp",
    "dur": ".google.protobuf.Duration",
    "mask": ".google.protobuf.FieldMask",
    "st": ".google.protobuf.Struct",
    "val": ".google.protobuf.Value",
    "lv": ".google.protobuf.ListValue",
    "w_i64": ".google.protobuf.Int64Value",
    "w_u64": ".google.protobuf.UInt64Value",
    "w_i32": ".google.protobuf.Int32Value",
    "w_u32": ".google.protobuf.UInt32Value",
    "w_str": ".google.protobuf.StringValue",
    "w_bool": ".google.protobuf.BoolValue",
    "w_bytes": ".google.protobuf.BytesValue",
    "w_db": ".google.protobuf.DoubleValue",
    "w_fl": ".google.protobuf.FloatValue",
    "empty": ".google.protobuf.Empty",
    "any": ".google.protobuf.Any",
}


def _field(
    name: str,
    number: int,
    kind: int,
    type_name: str = "",
    label: int = _OPTIONAL,
    **extra: object,
) -> _F:
    field = _F(name=name, number=number, type=kind, label=label, **extra)  # type: ignore[arg-type]
    if type_name:
        field.type_name = type_name
    return field


def _map_entry(
    name: str, key: int, value: int, value_type: str = ""
) -> descriptor_pb2.DescriptorProto:
    entry = descriptor_pb2.DescriptorProto(name=name)
    entry.options.map_entry = True
    entry.field.append(_field("key", 1, key))
    entry.field.append(_field("value", 2, value, value_type))
    return entry


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="codectest/all.proto", package="codectest", syntax="proto3"
    )
    proto.dependency.extend(
        [
            "google/protobuf/timestamp.proto",
            "google/protobuf/duration.proto",
            "google/protobuf/field_mask.proto",
            "google/protobuf/struct.proto",
            "google/protobuf/wrappers.proto",
            "google/protobuf/empty.proto",
            "google/protobuf/any.proto",
        ]
    )
    color = proto.enum_type.add(name="Color")
    for number, name in enumerate(("COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN")):
        color.value.add(name=name, number=number)

    inner = proto.message_type.add(name="Inner")
    inner.field.extend(
        [
            _field("name", 1, _F.TYPE_STRING),
            _field("n", 2, _F.TYPE_INT64),
            _field("children", 3, _F.TYPE_MESSAGE, ".codectest.Inner", _REPEATED),
            _field("from", 4, _F.TYPE_STRING),  # a Python keyword
        ]
    )

    message = proto.message_type.add(name="AllTypes")
    number = 1
    for name, kind in SCALARS.items():
        message.field.append(_field(name, number, kind))
        message.field.append(_field(f"r_{name}", number + 100, kind, label=_REPEATED))
        number += 1
    message.field.append(_field("color", 20, _F.TYPE_ENUM, ".codectest.Color"))
    message.field.append(_field("r_color", 120, _F.TYPE_ENUM, ".codectest.Color", _REPEATED))
    message.field.append(_field("inner", 21, _F.TYPE_MESSAGE, ".codectest.Inner"))
    message.field.append(_field("r_inner", 121, _F.TYPE_MESSAGE, ".codectest.Inner", _REPEATED))
    message.field.append(_field("null", 22, _F.TYPE_ENUM, ".google.protobuf.NullValue"))
    message.field.append(_field("snake_case_name", 23, _F.TYPE_STRING))
    message.field.append(_field("custom", 24, _F.TYPE_STRING, json_name="customJSON"))
    message.field.append(_field("recursive", 25, _F.TYPE_MESSAGE, ".codectest.AllTypes"))
    number = 30
    for name, type_name in WELL_KNOWN.items():
        message.field.append(_field(name, number, _F.TYPE_MESSAGE, type_name))
        message.field.append(
            _field(f"r_{name}", number + 100, _F.TYPE_MESSAGE, type_name, _REPEATED)
        )
        number += 1

    maps = {
        "m_str_i64": (_F.TYPE_STRING, _F.TYPE_INT64, ""),
        "m_i32_str": (_F.TYPE_INT32, _F.TYPE_STRING, ""),
        "m_u64_color": (_F.TYPE_UINT64, _F.TYPE_ENUM, ".codectest.Color"),
        "m_bool_inner": (_F.TYPE_BOOL, _F.TYPE_MESSAGE, ".codectest.Inner"),
        "m_s64_bytes": (_F.TYPE_SINT64, _F.TYPE_BYTES, ""),
        "m_str_value": (_F.TYPE_STRING, _F.TYPE_MESSAGE, ".google.protobuf.Value"),
        "m_str_ts": (_F.TYPE_STRING, _F.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
        "m_str_db": (_F.TYPE_STRING, _F.TYPE_DOUBLE, ""),
    }
    for offset, (name, (key, value, value_type)) in enumerate(maps.items()):
        entry_name = "".join(part.title() for part in name.split("_")) + "Entry"
        message.nested_type.append(_map_entry(entry_name, key, value, value_type))
        message.field.append(
            _field(
                name, 60 + offset, _F.TYPE_MESSAGE, f".codectest.AllTypes.{entry_name}", _REPEATED
            )
        )

    choice = message.oneof_decl.add(name="choice")
    del choice
    for offset, (name, kind, type_name) in enumerate(
        [
            ("o_text", _F.TYPE_STRING, ""),
            ("o_inner", _F.TYPE_MESSAGE, ".codectest.Inner"),
            ("o_i64", _F.TYPE_INT64, ""),
            ("o_value", _F.TYPE_MESSAGE, ".google.protobuf.Value"),
        ]
    ):
        message.field.append(_field(name, 80 + offset, kind, type_name, oneof_index=0))
    for offset, (name, kind) in enumerate(
        [("opt_i32", _F.TYPE_INT32), ("opt_text", _F.TYPE_STRING)]
    ):
        message.oneof_decl.add(name=f"_{name}")
        message.field.append(
            _field(name, 90 + offset, kind, oneof_index=offset + 1, proto3_optional=True)
        )
    return proto


def _closed_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="codectest/closed.proto", package="codectest", syntax="proto2"
    )
    level = proto.enum_type.add(name="Level")
    level.value.add(name="LEVEL_LOW", number=1)
    level.value.add(name="LEVEL_HIGH", number=2)
    message = proto.message_type.add(name="Closed")
    message.field.append(_field("level", 1, _F.TYPE_ENUM, ".codectest.Level"))
    message.field.append(_field("count", 2, _F.TYPE_INT32))
    message.extension_range.add(start=100, end=200)
    proto.extension.append(_field("note", 100, _F.TYPE_STRING, extendee=".codectest.Closed"))
    return proto


POOL = descriptor_pool.DescriptorPool()
for _module in (
    timestamp_pb2,
    duration_pb2,
    field_mask_pb2,
    struct_pb2,
    wrappers_pb2,
    empty_pb2,
    any_pb2,
):
    POOL.AddSerializedFile(_module.DESCRIPTOR.serialized_pb)
POOL.AddSerializedFile(_file().SerializeToString())
POOL.AddSerializedFile(_closed_file().SerializeToString())


def message_class(full_name: str) -> type[Message]:
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


# Any: the classes are made at run time, so there are no stubs for their fields.
AllTypes: Any = message_class("codectest.AllTypes")
Inner: Any = message_class("codectest.Inner")
Closed: Any = message_class("codectest.Closed")
NOTE = POOL.FindExtensionByName("codectest.note")

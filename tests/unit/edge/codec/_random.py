"""Randomly filled messages of any descriptor, for round trips against json_format."""

from __future__ import annotations

import random
import string
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_T = FieldDescriptor
_INT_BITS = {
    _T.TYPE_INT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _T.TYPE_UINT32: (0, 2**32 - 1),
    _T.TYPE_FIXED32: (0, 2**32 - 1),
    _T.TYPE_INT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _T.TYPE_UINT64: (0, 2**64 - 1),
    _T.TYPE_FIXED64: (0, 2**64 - 1),
}
_TEXT = string.ascii_letters + string.digits + ' _-./"\\\n\t' + "éß中𝄞✓\u0000\u2028"


def _integer(rng: random.Random, kind: int) -> int:
    low, high = _INT_BITS[kind]
    return rng.choice([0, 1, -1 if low else 2, low, high, rng.randint(low, high)])


def _float(rng: random.Random) -> float:
    return rng.choice(
        [0.0, -0.0, 1.5, 0.1, 1e-300, -1e300, float("inf"), float("nan"), rng.uniform(-1e6, 1e6)]
    )


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 12)))


def _scalar(rng: random.Random, field: FieldDescriptor) -> Any:
    kind = field.type
    if kind in _INT_BITS:
        return _integer(rng, kind)
    if kind in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        return _float(rng)
    if kind == _T.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == _T.TYPE_STRING:
        return _text(rng)
    if kind == _T.TYPE_BYTES:
        return rng.randbytes(rng.randint(0, 9))
    assert field.enum_type is not None
    numbers = [v.number for v in field.enum_type.values]
    if not field.enum_type.is_closed and rng.random() < 0.1:
        return rng.randint(100, 2**31 - 1)
    return rng.choice(numbers)


def _json_value(rng: random.Random, depth: int) -> Any:
    choices = ["null", "bool", "number", "string"] + (["list", "object"] if depth < 3 else [])
    kind = rng.choice(choices)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "number":
        return rng.choice([0.0, 1.0, -2.5, 1e100, rng.uniform(-1e9, 1e9)])
    if kind == "string":
        return _text(rng)
    if kind == "list":
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _snake(rng: random.Random) -> str:
    words = ["a", "b1", "user", "display_name", "x2y"]
    return ".".join(rng.choice(words) for _ in range(rng.randint(1, 3)))


def fill(rng: random.Random, message: Message, depth: int = 0) -> Message:
    """Sets a random selection of `message`'s fields to random, printable values."""
    descriptor: Any = message.DESCRIPTOR
    name = descriptor.full_name
    if name == "google.protobuf.Timestamp":
        message.seconds = rng.randint(-62135596800, 253402300799)  # type: ignore[attr-defined]
        message.nanos = rng.choice([0, 10**6 * rng.randint(0, 999), rng.randint(0, 10**9 - 1)])  # type: ignore[attr-defined]
        return message
    if name == "google.protobuf.Duration":
        seconds = rng.randint(-315576000000, 315576000000)
        nanos = rng.randint(0, 10**9 - 1)
        message.seconds, message.nanos = seconds, (-nanos if seconds < 0 else nanos)  # type: ignore[attr-defined]
        return message
    if name == "google.protobuf.FieldMask":
        message.paths.extend(_snake(rng) for _ in range(rng.randint(0, 3)))  # type: ignore[attr-defined]
        return message
    if name in ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"):
        from edge.codec import codec_for

        value = _json_value(rng, 1)
        if name == "google.protobuf.Struct":
            value = {"k": value, _text(rng): [value]}
        elif name == "google.protobuf.ListValue":
            value = [value]
        codec_for(descriptor).merge(value, message)
        return message
    if name == "google.protobuf.Any":
        if rng.random() < 0.5:
            inner = descriptor.file.pool.FindMessageTypeByName("google.protobuf.Duration")
        else:
            inner = descriptor.file.pool.FindMessageTypeByName("google.protobuf.FieldMask")
        from google.protobuf import message_factory

        packed = fill(rng, message_factory.GetMessageClass(inner)(), depth + 1)
        message.type_url = f"type.googleapis.com/{inner.full_name}"  # type: ignore[attr-defined]
        message.value = packed.SerializeToString()  # type: ignore[attr-defined]
        return message
    chosen_oneofs: set[str] = set()
    for field in descriptor.fields:
        if rng.random() < 0.4:
            continue
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.name in chosen_oneofs:
                continue
            chosen_oneofs.add(oneof.name)
        _fill_field(rng, message, field, depth)
    return message


def _fill_field(rng: random.Random, message: Message, field: FieldDescriptor, depth: int) -> None:
    target = getattr(message, field.name)
    if field.type == _T.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:  # type: ignore[union-attr]
        key_field = field.message_type.fields_by_name["key"]  # type: ignore[union-attr]
        value_field = field.message_type.fields_by_name["value"]  # type: ignore[union-attr]
        for _ in range(rng.randint(0, 3)):
            key = _scalar(rng, key_field)
            if value_field.type == _T.TYPE_MESSAGE:
                if depth < 3:
                    fill(rng, target[key], depth + 1)
            else:
                target[key] = _scalar(rng, value_field)
        return
    if field.is_repeated:
        for _ in range(rng.randint(0, 3)):
            if field.type == _T.TYPE_MESSAGE:
                if depth < 3:
                    fill(rng, target.add(), depth + 1)
            else:
                target.append(_scalar(rng, field))
        return
    if field.type == _T.TYPE_MESSAGE:
        if depth < 3:
            target.SetInParent()
            fill(rng, target, depth + 1)
        return
    setattr(message, field.name, _scalar(rng, field))

"""Readers (JSON value → Python value) and writers (Python value → JSON value) for scalar and
enum fields under the proto3 JSON mapping, one table entry per field type."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.internal import type_checkers

from edge.codec.errors import Invalid

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]

_UNPAIRED_SURROGATE = re.compile(
    "[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]"
)
_FLOAT_MAX = 3.4028234663852886e38  # the largest float32, as json_format bounds it
_FLOAT_MIN = -_FLOAT_MAX
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

_T = FieldDescriptor
INT_RANGES: dict[int, tuple[int, int, str]] = {
    _T.TYPE_INT32: (-(2**31), 2**31 - 1, "int32"),
    _T.TYPE_SINT32: (-(2**31), 2**31 - 1, "sint32"),
    _T.TYPE_SFIXED32: (-(2**31), 2**31 - 1, "sfixed32"),
    _T.TYPE_UINT32: (0, 2**32 - 1, "uint32"),
    _T.TYPE_FIXED32: (0, 2**32 - 1, "fixed32"),
    _T.TYPE_INT64: (-(2**63), 2**63 - 1, "int64"),
    _T.TYPE_SINT64: (-(2**63), 2**63 - 1, "sint64"),
    _T.TYPE_SFIXED64: (-(2**63), 2**63 - 1, "sfixed64"),
    _T.TYPE_UINT64: (0, 2**64 - 1, "uint64"),
    _T.TYPE_FIXED64: (0, 2**64 - 1, "fixed64"),
}
_INT64_TYPES = frozenset(
    {_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64, _T.TYPE_UINT64, _T.TYPE_FIXED64}
)


def _integer(value: Any) -> int:
    """An integer from a JSON number or string, as json_format accepts them."""
    kind = type(value)
    if kind is float:
        if not value.is_integer():
            raise Invalid(f"expected an integer, got {value!r}")
        return int(value)
    if kind is str:
        if " " not in value:
            try:
                return int(value)
            except ValueError:
                try:
                    number = float(value)
                except ValueError:
                    pass
                else:
                    if number.is_integer():
                        return int(number)
        raise Invalid(f"expected a string of decimal digits, got {value!r}")
    if kind is bool:
        raise Invalid(f"expected an integer, got {str(value).lower()}")
    raise Invalid(f"expected an integer or a string of decimal digits, got {kind_of(value)}")


def message_type(field: FieldDescriptor) -> Descriptor:
    found = field.message_type
    if found is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return found


def enum_type(field: FieldDescriptor) -> EnumDescriptor:
    found = field.enum_type
    if found is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return found


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def int_reader(low: int, high: int, name: str) -> Reader:
    def read(value: Any) -> int:
        number = value if type(value) is int else _integer(value)
        if low <= number <= high:
            return number
        raise Invalid(f"out of range for {name}: {value!r}")

    return read


def read_float(value: Any) -> float:
    kind = type(value)
    if kind is float:
        if value - value == 0:  # finite; JSON NaN/Infinity literals must be quoted
            return value  # type: ignore[no-any-return]
        raise Invalid(f'expected a number or "NaN"/"Infinity"/"-Infinity", got {value!r}')
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            raise Invalid(f"out of range for double: {value!r}") from None
    if kind is str:
        special = _SPECIAL_FLOATS.get(value)
        if special is not None:
            return special
        if value != "nan":
            try:
                return float(value)
            except ValueError:
                pass
        raise Invalid(f"expected a number, got {value!r}")
    raise Invalid(f"expected a number, got {kind_of(value)}")


def read_float32(value: Any) -> float:
    number = read_float(value)
    if type(value) is not str and not _FLOAT_MIN <= number <= _FLOAT_MAX:
        raise Invalid(f"out of range for float: {value!r}")
    return number


def read_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise Invalid(f"expected true or false, got {kind_of(value)}")


def read_string(value: Any) -> str:
    if type(value) is not str:
        raise Invalid(f"expected a string, got {kind_of(value)}")
    if not value.isascii() and _UNPAIRED_SURROGATE.search(value):
        raise Invalid("string contains an unpaired surrogate")
    return value


def read_bytes(value: Any) -> bytes:
    if type(value) is not str:
        raise Invalid(f"expected a base64 string, got {kind_of(value)}")
    encoded = value.encode()
    try:
        # Standard and URL-safe alphabets, padding optional.
        return base64.urlsafe_b64decode(encoded + b"=" * (4 - len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise Invalid(f"not valid base64: {value!r}") from None


def enum_reader(enum: EnumDescriptor) -> Reader:
    by_name = {v.name: v.number for v in enum.values}
    numbers = frozenset(v.number for v in enum.values)
    closed = enum.is_closed
    full_name = enum.full_name

    def read(value: Any) -> int:
        if type(value) is str:
            number = by_name.get(value)
            if number is not None:
                return number
            try:
                number = int(value)
            except ValueError:
                raise Invalid(f"not a valid enum value of {full_name}: {value!r}") from None
        elif type(value) is int:
            number = value
        else:
            raise Invalid(f"expected an enum name of {full_name}, got {kind_of(value)}")
        if number in numbers or (not closed and -(2**31) <= number < 2**31):
            return number
        raise Invalid(f"not a valid enum value of {full_name}: {value!r}")

    return read


def key_reader(field: FieldDescriptor) -> Reader:
    """Map keys are always JSON strings."""
    if field.type == _T.TYPE_BOOL:
        keys = {"true": True, "false": False}

        def read_bool_key(value: str) -> bool:
            try:
                return keys[value]
            except KeyError:
                raise Invalid(f'expected "true" or "false", got {value!r}') from None

        return read_bool_key
    if field.type == _T.TYPE_STRING:
        return read_string
    low, high, name = INT_RANGES[field.type]
    read_int = int_reader(low, high, name)

    def read_int_key(value: str) -> int:
        return read_int(_integer(value))  # type: ignore[no-any-return]

    return read_int_key


def scalar_reader(field: FieldDescriptor) -> Reader:
    kind = field.type
    if kind in INT_RANGES:
        return int_reader(*INT_RANGES[kind])
    if kind == _T.TYPE_ENUM:
        return enum_reader(enum_type(field))
    return _READERS[kind]


_READERS: dict[int, Reader] = {
    _T.TYPE_DOUBLE: read_float,
    _T.TYPE_FLOAT: read_float32,
    _T.TYPE_BOOL: read_bool,
    _T.TYPE_STRING: read_string,
    _T.TYPE_BYTES: read_bytes,
}


def write_double(value: float) -> float | str:
    if value - value == 0:
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def write_float32(value: float) -> float | str:
    if value - value == 0:
        return type_checkers.ToShortestFloat(value)
    return write_double(value)


def write_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode()


def enum_writer(enum: EnumDescriptor) -> Writer:
    if enum.full_name == "google.protobuf.NullValue":
        return lambda _value: None
    names = {v.number: v.name for v in enum.values}
    return lambda value: names.get(value, value)


def scalar_writer(field: FieldDescriptor) -> Writer | None:
    """None when the Python value is already its JSON value."""
    kind = field.type
    if kind in _INT64_TYPES:
        return str
    if kind == _T.TYPE_ENUM:
        return enum_writer(enum_type(field))
    return _WRITERS.get(kind)


_WRITERS: dict[int, Writer] = {
    _T.TYPE_DOUBLE: write_double,
    _T.TYPE_FLOAT: write_float32,
    _T.TYPE_BYTES: write_bytes,
}

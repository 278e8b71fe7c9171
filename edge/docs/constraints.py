"""The `buf.validate` rules of a field that JSON Schema can say: required, lengths, patterns,
bounds, item counts. Rules it cannot say (CEL, `not_in`, 64-bit bounds) stay with the service."""

from __future__ import annotations

import re
from typing import Any

from buf.validate import validate_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

# buf.validate.field as an extension handle (its stub types it as a plain FieldDescriptor).
_FIELD: Any = validate_pb2.field

# StringRules well-known checks → the JSON Schema format that means the same.
STRING_FORMATS: dict[str, str] = {
    "email": "email",
    "hostname": "hostname",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "uri": "uri",
    "uri_ref": "uri-reference",
    "uuid": "uuid",
}

# Numeric rule → JSON Schema keyword. Only for numbers JSON carries as numbers: the 64-bit
# integers are strings in proto3 JSON, where `minimum` would not apply.
BOUNDS: dict[str, str] = {
    "gt": "exclusiveMinimum",
    "gte": "minimum",
    "lt": "exclusiveMaximum",
    "lte": "maximum",
}
# RE2 syntax that ECMA-262 regular expressions (JSON Schema's) read differently or not at all:
# such a pattern is left to the service rather than documented wrongly.
RE2_ONLY = re.compile(r"\(\?[imsU-]|\(\?P<|\\[AzCQ]|\[\[:")
NUMERIC_RULES = ("int32", "uint32", "sint32", "fixed32", "sfixed32", "float", "double")


def field_rules(field: FieldDescriptor) -> validate_pb2.FieldRules | None:
    """The field's rules, or None when it has none or they are switched off."""
    options = field.GetOptions()
    if not options.HasExtension(_FIELD):
        return None
    rules: validate_pb2.FieldRules = options.Extensions[_FIELD]
    if rules.ignore == validate_pb2.IGNORE_ALWAYS:
        return None
    return rules


def is_required(field: FieldDescriptor) -> bool:
    rules = field_rules(field)
    return rules is not None and rules.required


def apply_value_rules(rules: validate_pb2.FieldRules, schema: dict[str, Any]) -> None:
    """Narrow the schema of one (non-repeated) value by the rules of its kind."""
    kind = rules.WhichOneof("type")
    if kind is None:
        return
    typed: Message = getattr(rules, kind)
    if kind == "string":
        _string(rules.string, schema)
    elif kind in NUMERIC_RULES:
        for rule, keyword in BOUNDS.items():
            if typed.HasField(rule):
                schema[keyword] = getattr(typed, rule)
        values = list(getattr(typed, "in"))
        if values:
            schema["enum"] = values


def apply_collection_rules(rules: validate_pb2.FieldRules, schema: dict[str, Any]) -> None:
    """Narrow an array (repeated) or object (map) schema; item rules go to its items."""
    if rules.HasField("repeated"):
        repeated = rules.repeated
        if repeated.HasField("min_items"):
            schema["minItems"] = repeated.min_items
        if repeated.HasField("max_items"):
            schema["maxItems"] = repeated.max_items
        if repeated.unique:
            schema["uniqueItems"] = True
        if repeated.HasField("items") and isinstance(schema.get("items"), dict):
            apply_value_rules(repeated.items, schema["items"])
    elif rules.HasField("map"):
        pairs = rules.map
        if pairs.HasField("min_pairs"):
            schema["minProperties"] = pairs.min_pairs
        if pairs.HasField("max_pairs"):
            schema["maxProperties"] = pairs.max_pairs


def _string(rules: validate_pb2.StringRules, schema: dict[str, Any]) -> None:
    if rules.HasField("len"):
        schema["minLength"] = schema["maxLength"] = rules.len
    if rules.HasField("min_len"):
        schema["minLength"] = rules.min_len
    if rules.HasField("max_len"):
        schema["maxLength"] = rules.max_len
    if rules.HasField("pattern") and not RE2_ONLY.search(rules.pattern):
        schema["pattern"] = rules.pattern
    if rules.HasField("const"):
        schema["const"] = rules.const
    values = list(getattr(rules, "in"))
    if values:
        schema["enum"] = values
    check = rules.WhichOneof("well_known")
    if check is not None and check in STRING_FORMATS and getattr(rules, check):
        schema["format"] = STRING_FORMATS[check]

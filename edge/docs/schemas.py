"""JSON Schema (2020-12, as OpenAPI 3.1 and AsyncAPI 3 use it) for protobuf messages, read
from their descriptors and following the proto3 JSON mapping, one component per message or
enum, named by its full name and joined by `$ref`s."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from edge.docs import constraints
from edge.docs.comments import NO_COMMENTS

Schema = dict[str, Any]

REF_PREFIX = "#/components/schemas/"

_INT64 = r"^-?[0-9]+$"
_UINT64 = r"^[0-9]+$"
_NUMBER: Schema = {
    # NaN and the infinities have no JSON number, so the mapping spells them as strings.
    "anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
}

# Scalar field type → the JSON value proto3 JSON gives it.
SCALARS: dict[int, Schema] = {
    FieldDescriptor.TYPE_DOUBLE: {**_NUMBER, "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {**_NUMBER, "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0},
    # 64-bit integers are strings: a JSON number loses precision past 2^53.
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64", "pattern": _INT64},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": _INT64},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": _INT64},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": _UINT64},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": _UINT64},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte", "contentEncoding": "base64"},
}


def _wrapper(value: Schema) -> Schema:
    nullable = copy.deepcopy(value)
    if "type" in nullable:
        nullable["type"] = [nullable["type"], "null"]
    else:
        nullable = {"anyOf": [nullable, {"type": "null"}]}
    return nullable


# Well-known types have their own JSON forms; they are written inline, not as components.
WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
        "description": "Seconds with an `s` suffix, for example `1.5s`.",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated lowerCamelCase field paths, for example `name,email`.",
    },
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "maxProperties": 0},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {
            "@type": {"type": "string", "description": "The packed message's type URL."}
        },
        "required": ["@type"],
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": _wrapper(SCALARS[FieldDescriptor.TYPE_DOUBLE]),
    "google.protobuf.FloatValue": _wrapper(SCALARS[FieldDescriptor.TYPE_FLOAT]),
    "google.protobuf.Int64Value": _wrapper(SCALARS[FieldDescriptor.TYPE_INT64]),
    "google.protobuf.UInt64Value": _wrapper(SCALARS[FieldDescriptor.TYPE_UINT64]),
    "google.protobuf.Int32Value": _wrapper(SCALARS[FieldDescriptor.TYPE_INT32]),
    "google.protobuf.UInt32Value": _wrapper(SCALARS[FieldDescriptor.TYPE_UINT32]),
    "google.protobuf.BoolValue": _wrapper(SCALARS[FieldDescriptor.TYPE_BOOL]),
    "google.protobuf.StringValue": _wrapper(SCALARS[FieldDescriptor.TYPE_STRING]),
    "google.protobuf.BytesValue": _wrapper(SCALARS[FieldDescriptor.TYPE_BYTES]),
}
WELL_KNOWN_ENUMS: dict[str, Schema] = {"google.protobuf.NullValue": {"type": "null"}}


class SchemaSet:
    """The components of one document: `ref()` a message or enum to register it (and all it
    reaches) once and get the schema that points at it."""

    def __init__(
        self, comments: Mapping[str, str] = NO_COMMENTS, ref_prefix: str = REF_PREFIX
    ) -> None:
        self.schemas: dict[str, Schema] = {}
        self._comments = comments
        self._prefix = ref_prefix

    def ref(self, descriptor: Descriptor) -> Schema:
        known = WELL_KNOWN.get(descriptor.full_name)
        if known is not None:
            return copy.deepcopy(known)
        if descriptor.full_name not in self.schemas:
            # Registered before its fields are read, so a message that reaches itself
            # finds its own name and stops there.
            self.schemas[descriptor.full_name] = {}
            self.schemas[descriptor.full_name] = self._message(descriptor)
        return {"$ref": self._prefix + descriptor.full_name}

    def enum_ref(self, descriptor: EnumDescriptor) -> Schema:
        known = WELL_KNOWN_ENUMS.get(descriptor.full_name)
        if known is not None:
            return copy.deepcopy(known)
        if descriptor.full_name not in self.schemas:
            self.schemas[descriptor.full_name] = self._enum(descriptor)
        return {"$ref": self._prefix + descriptor.full_name}

    def field(self, field: FieldDescriptor) -> Schema:
        """The JSON value of a field as its message carries it (arrays and maps included),
        described by its comment and narrowed by its validation rules."""
        rules = constraints.field_rules(field)
        entry = _map_entry(field)
        if entry is not None:
            value = entry.fields_by_name["value"]
            schema: Schema = {"type": "object", "additionalProperties": self.value(value)}
        elif field.is_repeated:
            schema = {"type": "array", "items": self.value(field)}
        else:
            schema = self.value(field)
            if rules is not None:
                constraints.apply_value_rules(rules, schema)
        if rules is not None and field.is_repeated:
            constraints.apply_collection_rules(rules, schema)
        description = self._comments.get(field.full_name, "")
        if description:
            schema["description"] = description
        return schema

    def value(self, field: FieldDescriptor) -> Schema:
        """One value of the field: an element, for a repeated field."""
        if field.message_type is not None:
            return self.ref(field.message_type)
        if field.enum_type is not None:
            return self.enum_ref(field.enum_type)
        return copy.deepcopy(SCALARS[field.type])

    def _message(self, descriptor: Descriptor) -> Schema:
        schema: Schema = {"type": "object", "title": descriptor.name}
        description = self._comments.get(descriptor.full_name, "")
        properties = {field.json_name: self.field(field) for field in descriptor.fields}
        if properties:
            schema["properties"] = properties
        required = [f.json_name for f in descriptor.fields if constraints.is_required(f)]
        if required:
            schema["required"] = required
        groups = _oneofs(descriptor)
        if groups:
            schema["x-oneof"] = groups
            # At most one member of each oneof: no two of them present together.
            exclusive = [
                {"required": [a, b]}
                for members in groups.values()
                for i, a in enumerate(members)
                for b in members[i + 1 :]
            ]
            if exclusive:
                schema["not"] = {"anyOf": exclusive}
            notes = "; ".join(f"at most one of {', '.join(m)}" for m in groups.values())
            description = f"{description}\n\n{notes[0].upper()}{notes[1:]}.".strip()
        if description:
            schema["description"] = description
        return schema

    def _enum(self, descriptor: EnumDescriptor) -> Schema:
        schema: Schema = {
            "type": "string",
            "title": descriptor.name,
            "enum": [value.name for value in descriptor.values],
        }
        lines = [self._comments.get(descriptor.full_name, "")]
        lines.extend(
            f"- `{value.name}`: {text}"
            for value in descriptor.values
            if (text := self._comments.get(f"{descriptor.full_name}.{value.name}", ""))
        )
        description = "\n".join(line for line in lines if line)
        if description:
            schema["description"] = description
        return schema


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The entry message of a map field, or None for any other field."""
    entry = field.message_type
    if entry is None or not field.is_repeated or not entry.GetOptions().map_entry:
        return None
    return entry


def _oneofs(descriptor: Descriptor) -> dict[str, list[str]]:
    """Real oneofs by name, with their members' JSON names; proto3 `optional` fields sit in
    synthetic one-member oneofs, which say nothing to a JSON client."""
    groups: dict[str, list[str]] = {}
    for oneof in descriptor.oneofs:
        members = list(oneof.fields)
        if len(members) == 1 and oneof.name == f"_{members[0].name}":
            continue
        groups[oneof.name] = [field.json_name for field in members]
    return groups

"""Which request fields an HTTP binding takes from the path, the query and the body, as
OpenAPI parameters and request bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from edge.docs import constraints
from edge.docs.schemas import WELL_KNOWN, Schema, SchemaSet
from edge.rest.routes import Route

# Well-known types a query string can carry: those whose JSON form is one scalar.
QUERY_WELL_KNOWN = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        *(
            f"google.protobuf.{kind}Value"
            for kind in (
                *("Double", "Float", "Int64", "UInt64", "Int32", "UInt32"),
                *("Bool", "String", "Bytes"),
            )
        ),
    }
)


def field_at(message: Descriptor, path: tuple[str, ...]) -> FieldDescriptor:
    """The field a dotted proto path names inside `message`."""
    field = message.fields_by_name.get(path[0])
    if field is None:
        raise ValueError(f"{message.full_name} has no field {path[0]!r}")
    if len(path) == 1:
        return field
    if field.message_type is None:
        raise ValueError(f"{field.full_name} is not a message, so it has no {path[1]!r}")
    return field_at(field.message_type, path[1:])


def path_parameters(route: Route, schemas: SchemaSet) -> list[dict[str, Any]]:
    return [
        _parameter(
            variable.name, "path", field_at(route.method.input, variable.field_path), schemas
        )
        | {"required": True}
        for variable in route.template.variables
    ]


def query_parameters(route: Route, schemas: SchemaSet) -> list[dict[str, Any]]:
    """Every request leaf that neither the path nor the body binds, dotted when nested."""
    if route.body == "*":
        return []
    bound = {variable.field_path for variable in route.template.variables}
    if route.body:
        bound.add((route.body,))
    message = route.method.input
    parameters = []
    for path, field in _leaves(message, (), bound, frozenset({message.full_name})):
        parameter = _parameter(".".join(path), "query", field, schemas)
        if route.body and route.http_method == "PATCH" and _is_field_mask(field):
            # The edge fills a PATCH's update mask from the fields the body carries.
            parameter.pop("required", None)
            parameter["description"] = (
                "The fields to update; when absent, the fields present in the body. "
                + parameter.get("description", "")
            ).strip()
        parameters.append(parameter)
    return parameters


def request_body(route: Route, schemas: SchemaSet) -> dict[str, Any] | None:
    if not route.body:
        return None
    message = route.method.input
    if route.body == "*":
        schema = _without_path_fields(route, schemas)
        shown = schemas.schemas[message.full_name] if "$ref" in schema else schema
        required = bool(shown.get("required"))
        description = f"The {message.name} fields the path does not carry."
    else:
        field = field_at(message, (route.body,))
        schema = schemas.field(field)
        description = schema.pop("description", f"The request's `{route.body}`.")
        required = True
    return {
        "description": description,
        "required": required,
        "content": {"application/json": {"schema": schema}},
    }


def _without_path_fields(route: Route, schemas: SchemaSet) -> Schema:
    message = route.method.input
    reference = schemas.ref(message)
    top = {v.field_path[0] for v in route.template.variables if len(v.field_path) == 1}
    if not top or "$ref" not in reference:  # a well-known type is written inline, whole
        return reference
    dropped = {message.fields_by_name[name].json_name for name in top}
    schema = dict(schemas.schemas[message.full_name])
    properties = {k: v for k, v in schema.get("properties", {}).items() if k not in dropped}
    schema["properties"] = properties
    required = [name for name in schema.get("required", []) if name not in dropped]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema


def _leaves(
    message: Descriptor,
    prefix: tuple[str, ...],
    bound: set[tuple[str, ...]],
    seen: frozenset[str],
) -> Iterator[tuple[tuple[str, ...], FieldDescriptor]]:
    for field in message.fields:
        path = (*prefix, field.name)
        if path in bound:
            continue
        nested = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
        if nested is None or nested.full_name in QUERY_WELL_KNOWN:
            if nested is None or not nested.GetOptions().map_entry:
                yield path, field
        elif not field.is_repeated and nested.full_name not in seen | WELL_KNOWN.keys():
            # A query string cannot say where one element of a repeated message ends, nor
            # carry a map; a message that reaches itself is walked once.
            yield from _leaves(nested, path, bound, seen | {nested.full_name})


def _is_field_mask(field: FieldDescriptor) -> bool:
    nested = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
    return nested is not None and nested.full_name == "google.protobuf.FieldMask"


def _parameter(name: str, where: str, field: FieldDescriptor, schemas: SchemaSet) -> dict[str, Any]:
    schema = schemas.field(field)
    parameter: dict[str, Any] = {"name": name, "in": where}
    description = schema.pop("description", "")
    if description:
        parameter["description"] = description
    if where == "query" and constraints.is_required(field):
        parameter["required"] = True
    if field.is_repeated:
        # ?symbols=AAPL&symbols=MSFT
        parameter["style"] = "form"
        parameter["explode"] = True
    parameter["schema"] = schema
    return parameter

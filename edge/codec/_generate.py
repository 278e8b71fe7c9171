"""Generates the reader and writer of one regular message as Python source, compiled once:
straight-line code per field with the common cases inline, so a request costs no descriptor
walking and no per-field dispatch."""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from edge.codec import _scalars
from edge.codec.errors import Invalid

_T = FieldDescriptor
_INT32 = {_T.TYPE_INT32, _T.TYPE_SINT32, _T.TYPE_SFIXED32, _T.TYPE_UINT32, _T.TYPE_FIXED32}
_FLOATS = {_T.TYPE_DOUBLE, _T.TYPE_FLOAT}


class Field:
    """What the generator needs of one field, prepared by the compiler."""

    def __init__(
        self,
        field: FieldDescriptor,
        read: Callable[[Any], Any],
        write: Callable[[Any], Any] | None,
        null: Any,
        omit: Any,
    ) -> None:
        self.field = field
        self.read = read
        self.write = write
        self.null = null
        self.omit = omit


def writer(descriptor: Descriptor, fields: list[Field]) -> Callable[[Any], dict[str, Any]]:
    env: dict[str, Any] = {"_copysign": math.copysign, "_Invalid": Invalid}
    lines = ["def write(m):", "    out = {}"]
    for i, spec in enumerate(sorted(fields, key=lambda s: s.field.number)):
        field, name = spec.field, spec.field.json_name
        plain = field.name.isidentifier() and not keyword.iskeyword(field.name)
        get = f"m.{field.name}" if plain else f"getattr(m, {field.name!r})"
        if field.has_presence and not field.is_repeated:
            lines += [f"    if m.HasField({field.name!r}):", f"        v = {get}"]
        elif field.type in _FLOATS and not field.is_repeated:
            # -0.0 is stored, so it is printed.
            lines += [f"    v = {get}", "    if v or _copysign(1.0, v) < 0:"]
        else:
            lines += [f"    v = {get}", "    if v:"]
        if spec.write is None:
            lines.append(f"        out[{name!r}] = v")
        else:
            env[f"w{i}"] = spec.write
            lines += [
                "        try:",
                f"            out[{name!r}] = w{i}(v)",
                "        except _Invalid as bad:",
                f"            raise bad.within({name!r}) from None",
            ]
    lines.append("    return out")
    return _compile(lines, env, "write", descriptor)


def reader(
    descriptor: Descriptor, fields: list[Field], diagnose: Callable[[dict[str, Any]], Invalid]
) -> Callable[[Any], dict[str, Any]]:
    """`diagnose(value)` explains a JSON object whose keys do not all match one field each."""
    env: dict[str, Any] = {
        "_Invalid": Invalid,
        "_MISSING": _MISSING,
        "_diagnose": diagnose,
        "_not_object": _not_object,
        "_oneof": _oneof,
        "_located": _located,
    }
    lines = [
        "def read(value):",
        "    if type(value) is not dict:",
        "        raise _not_object(value)",
        "    get = value.get",
        "    args = {}",
        "    seen = 0",
        "    f = -1",
    ]
    oneofs = sorted({s.field.containing_oneof.name for s in fields if s.field.containing_oneof})
    lines += [f"    o{k} = None" for k in range(len(oneofs))]
    names = []
    lines.append("    try:")
    for i, spec in enumerate(fields):
        field = spec.field
        names.append((field.json_name, field.name))
        env[f"r{i}"] = spec.read
        env[f"n{i}"] = spec.null
        lines.append(f"        item = get({field.json_name!r}, _MISSING)")
        if field.name != field.json_name:
            lines += [
                "        if item is _MISSING:",
                f"            item = get({field.name!r}, _MISSING)",
            ]
        lines += [
            "        if item is not _MISSING:",
            "            seen += 1",
            f"            f = {i}",
        ]
        lines.append("            if item is None:")
        if spec.null is spec.omit:
            lines.append("                pass")
        else:
            lines.append(f"                args[{field.name!r}] = n{i}")
        lines.append("            else:")
        if field.containing_oneof is not None:
            k = oneofs.index(field.containing_oneof.name)
            lines += [
                f"                if o{k} is not None:",
                f"                    raise _oneof({field.containing_oneof.name!r})",
                f"                o{k} = {i}",
            ]
        lines += [f"                {line}" for line in _convert(field, i, env)]
    lines += [
        "        pass",
        "    except _Invalid as bad:",
        "        raise _located(bad, value, _names[f]) from None",
        "    if seen != len(value):",
        "        raise _diagnose(value)",
        "    return args",
    ]
    env["_names"] = names
    return _compile(lines, env, "read", descriptor)


def _convert(field: FieldDescriptor, i: int, env: dict[str, Any]) -> list[str]:
    target = f"args[{field.name!r}]"
    if field.is_repeated or field.type == _T.TYPE_MESSAGE:
        return [f"{target} = r{i}(item)"]
    kind = field.type
    if kind == _T.TYPE_STRING:
        test = "type(item) is str and item.isascii()"
    elif kind == _T.TYPE_BOOL:
        test = "item is True or item is False"
    elif kind in _INT32:
        low, high, _ = _scalars.INT_RANGES[kind]
        test = f"type(item) is int and {low} <= item <= {high}"
    elif kind == _T.TYPE_DOUBLE:
        test = "type(item) is float and item - item == 0"
    elif kind == _T.TYPE_ENUM:
        env[f"e{i}"] = {v.name: v.number for v in _scalars.enum_type(field).values}
        return [
            f"number = e{i}.get(item) if type(item) is str else None",
            f"{target} = number if number is not None else r{i}(item)",
        ]
    else:
        return [f"{target} = r{i}(item)"]
    return [f"{target} = item if {test} else r{i}(item)"]


_MISSING: Any = object()


def _not_object(value: Any) -> Invalid:
    return Invalid(f"expected a JSON object, got {_scalars.kind_of(value)}")


def _oneof(name: str) -> Invalid:
    return Invalid(f"only one field of oneof {name!r} may be set")


def _located(bad: Invalid, value: dict[str, Any], names: tuple[str, str]) -> Invalid:
    return bad.within(names[0] if names[0] in value else names[1])


def _compile(
    lines: list[str], env: dict[str, Any], name: str, descriptor: Descriptor
) -> Callable[[Any], dict[str, Any]]:
    source = "\n".join(lines)
    code = compile(source, f"<edge.codec {name} {descriptor.full_name}>", "exec")
    # Text from the descriptor reaches the source only as repr() literals or as identifiers
    # checked above, so a reflected descriptor cannot inject code.
    exec(code, env)
    function: Callable[[Any], dict[str, Any]] = env[name]
    return function

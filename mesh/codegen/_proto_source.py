"""Render a compiled FileDescriptorProto back into .proto source text.

Some packages ship only the compiled descriptor of a schema they depend on (protovalidate
embeds ``buf/validate/validate.proto`` that way), while protoc and buf need source. The
rendered file compiles to the same descriptor; comments are lost because the shipped
descriptors carry no source info.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_encoding,
    text_format,
)
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mesh.codegen.errors import CodegenError

__all__ = ["build_pool", "render_proto"]

_FDP = descriptor_pb2.FieldDescriptorProto
_MAX_FIELD_NUMBER = 536870912  # exclusive end of the field number space
_MAX_ENUM_NUMBER = 2147483647

_SCALAR_TYPES: dict[int, str] = {
    _FDP.TYPE_DOUBLE: "double",
    _FDP.TYPE_FLOAT: "float",
    _FDP.TYPE_INT64: "int64",
    _FDP.TYPE_UINT64: "uint64",
    _FDP.TYPE_INT32: "int32",
    _FDP.TYPE_FIXED64: "fixed64",
    _FDP.TYPE_FIXED32: "fixed32",
    _FDP.TYPE_BOOL: "bool",
    _FDP.TYPE_STRING: "string",
    _FDP.TYPE_BYTES: "bytes",
    _FDP.TYPE_UINT32: "uint32",
    _FDP.TYPE_SFIXED32: "sfixed32",
    _FDP.TYPE_SFIXED64: "sfixed64",
    _FDP.TYPE_SINT32: "sint32",
    _FDP.TYPE_SINT64: "sint64",
}

_LABELS: dict[int, str] = {
    _FDP.LABEL_OPTIONAL: "optional",
    _FDP.LABEL_REQUIRED: "required",
    _FDP.LABEL_REPEATED: "repeated",
}


def build_pool(
    files: Sequence[descriptor_pb2.FileDescriptorProto],
) -> descriptor_pool.DescriptorPool:
    """A private pool holding ``files`` and, from the default pool, every dependency they name.

    Options are decoded against this pool so that custom options declared in ``files``
    (for example ``buf.validate.predefined`` on validate.proto's own fields) are readable.
    """
    pool = descriptor_pool.DescriptorPool()
    by_name = {file.name: file for file in files}
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        proto = by_name.get(name) or _default_pool_file(name)
        for dependency in proto.dependency:
            add(dependency)
        pool.Add(proto)
        added.add(name)

    for file in files:
        add(file.name)
    return pool


def _default_pool_file(name: str) -> descriptor_pb2.FileDescriptorProto:
    if not name.endswith(".proto"):
        raise CodegenError(f"cannot resolve dependency {name!r}: not a .proto file")
    try:
        descriptor = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        module = name.removesuffix(".proto").replace("/", ".") + "_pb2"
        try:
            importlib.import_module(module)
            descriptor = descriptor_pool.Default().FindFileByName(name)
        except (ImportError, KeyError) as exc:
            raise CodegenError(
                f"cannot resolve dependency {name!r}: no installed module {module} provides it"
            ) from exc
    proto = descriptor_pb2.FileDescriptorProto()
    descriptor.CopyToProto(proto)
    return proto


def render_proto(
    file: descriptor_pb2.FileDescriptorProto,
    pool: descriptor_pool.DescriptorPool,
    *,
    header: Sequence[str] = (),
) -> str:
    """Source text for ``file``; ``pool`` must hold ``file`` and its dependencies."""
    return "".join(_FileRenderer(file, pool).lines(header))


class _FileRenderer:
    def __init__(
        self, file: descriptor_pb2.FileDescriptorProto, pool: descriptor_pool.DescriptorPool
    ) -> None:
        if file.syntax == "editions":
            raise CodegenError(f"{file.name}: rendering editions files is not supported")
        self._file = file
        self._pool = pool
        self._proto3 = file.syntax == "proto3"
        self._option_classes: dict[str, Callable[[], Message]] = {}

    def lines(self, header: Sequence[str]) -> Iterator[str]:
        file = self._file
        yield from (f"// {line}\n" if line else "//\n" for line in header)
        if header:
            yield "\n"
        yield f'syntax = "{file.syntax or "proto2"}";\n\n'
        if file.package:
            yield f"package {file.package};\n\n"
        public = set(file.public_dependency)
        weak = set(file.weak_dependency)
        for index, dependency in enumerate(file.dependency):
            modifier = "public " if index in public else "weak " if index in weak else ""
            yield f'import {modifier}"{dependency}";\n'
        if file.dependency:
            yield "\n"
        yield from self._statement_options(file.options, "google.protobuf.FileOptions", 0)
        if file.options.ByteSize():
            yield "\n"
        blocks: list[Iterator[str]] = [
            *(self._message(message, 0) for message in file.message_type),
            *(self._enum(enum, 0) for enum in file.enum_type),
            self._extensions(file.extension, 0),
            *(self._service(service) for service in file.service),
        ]
        separator = ""
        for block in blocks:
            text = "".join(block)
            if text:
                yield separator + text
                separator = "\n"

    # -- messages -------------------------------------------------------------------------

    def _message(self, message: descriptor_pb2.DescriptorProto, depth: int) -> Iterator[str]:
        pad = "  " * depth
        inner = "  " * (depth + 1)
        yield f"{pad}message {message.name} {{\n"
        yield from self._statement_options(
            message.options, "google.protobuf.MessageOptions", depth + 1
        )
        map_entries = {
            nested.name: nested for nested in message.nested_type if nested.options.map_entry
        }
        emitted_oneofs: set[int] = set()
        for field in message.field:
            real_oneof = field.HasField("oneof_index") and not field.proto3_optional
            if not real_oneof:
                yield inner + self._field(field, map_entries) + "\n"
                continue
            if field.oneof_index in emitted_oneofs:
                continue
            emitted_oneofs.add(field.oneof_index)
            oneof = message.oneof_decl[field.oneof_index]
            yield f"{inner}oneof {oneof.name} {{\n"
            yield from self._statement_options(
                oneof.options, "google.protobuf.OneofOptions", depth + 2
            )
            for member in message.field:
                if member.HasField("oneof_index") and member.oneof_index == field.oneof_index:
                    yield (
                        "  " * (depth + 2) + self._field(member, map_entries, in_oneof=True) + "\n"
                    )
            yield f"{inner}}}\n"
        for extension_range in message.extension_range:
            end = (
                "max" if extension_range.end >= _MAX_FIELD_NUMBER else str(extension_range.end - 1)
            )
            span = (
                str(extension_range.start)
                if end == str(extension_range.start)
                else f"{extension_range.start} to {end}"
            )
            options = self._inline_options(
                extension_range.options, "google.protobuf.ExtensionRangeOptions", []
            )
            yield f"{inner}extensions {span}{options};\n"
        if message.reserved_range:
            spans = [_span(reserved.start, reserved.end - 1) for reserved in message.reserved_range]
            yield f"{inner}reserved {', '.join(spans)};\n"
        if message.reserved_name:
            names = ", ".join(_quote(name) for name in message.reserved_name)
            yield f"{inner}reserved {names};\n"
        for nested in message.nested_type:
            if nested.name not in map_entries:
                yield from self._message(nested, depth + 1)
        for enum in message.enum_type:
            yield from self._enum(enum, depth + 1)
        yield from self._extensions(message.extension, depth + 1)
        yield f"{pad}}}\n"

    def _field(
        self,
        field: descriptor_pb2.FieldDescriptorProto,
        map_entries: dict[str, descriptor_pb2.DescriptorProto],
        *,
        in_oneof: bool = False,
        extension: bool = False,
    ) -> str:
        if field.type == _FDP.TYPE_GROUP:
            raise CodegenError(f"{self._file.name}: group field {field.name!r} is not supported")
        entry = map_entries.get(field.type_name.rsplit(".", 1)[-1])
        if (
            entry is not None
            and field.label == _FDP.LABEL_REPEATED
            and field.type_name.endswith(f".{entry.name}")
        ):
            key, value = entry.field[0], entry.field[1]
            declaration = f"map<{self._type(key)}, {self._type(value)}> {field.name}"
        else:
            label = self._label(field, in_oneof=in_oneof, extension=extension)
            declaration = f"{label}{self._type(field)} {field.name}"
        extras: list[str] = []
        if field.HasField("default_value"):
            extras.append(f"default = {self._default(field)}")
        if (
            field.HasField("json_name")
            and not extension
            and field.json_name != _json_name(field.name)
        ):
            extras.append(f"json_name = {_quote(field.json_name)}")
        options = self._inline_options(field.options, "google.protobuf.FieldOptions", extras)
        return f"{declaration} = {field.number}{options};"

    def _label(
        self, field: descriptor_pb2.FieldDescriptorProto, *, in_oneof: bool, extension: bool
    ) -> str:
        if in_oneof:
            return ""
        if field.label == _FDP.LABEL_REPEATED:
            return "repeated "
        if self._proto3:
            return "optional " if field.proto3_optional else ""
        if extension and field.label == _FDP.LABEL_OPTIONAL:
            return "optional "
        return f"{_LABELS[field.label]} "

    @staticmethod
    def _type(field: descriptor_pb2.FieldDescriptorProto) -> str:
        if field.type in _SCALAR_TYPES:
            return _SCALAR_TYPES[field.type]
        return field.type_name

    def _default(self, field: descriptor_pb2.FieldDescriptorProto) -> str:
        value = field.default_value
        if field.type == _FDP.TYPE_STRING:
            return _quote(value)
        if field.type == _FDP.TYPE_BYTES:
            return f'"{value}"'  # already C-escaped in the descriptor
        return value

    # -- enums, extensions, services ------------------------------------------------------

    def _enum(self, enum: descriptor_pb2.EnumDescriptorProto, depth: int) -> Iterator[str]:
        pad = "  " * depth
        inner = "  " * (depth + 1)
        yield f"{pad}enum {enum.name} {{\n"
        yield from self._statement_options(enum.options, "google.protobuf.EnumOptions", depth + 1)
        for value in enum.value:
            options = self._inline_options(value.options, "google.protobuf.EnumValueOptions", [])
            yield f"{inner}{value.name} = {value.number}{options};\n"
        if enum.reserved_range:
            # Enum reserved ranges are inclusive at both ends, unlike message ones.
            spans = [
                _span(reserved.start, reserved.end, _MAX_ENUM_NUMBER)
                for reserved in enum.reserved_range
            ]
            yield f"{inner}reserved {', '.join(spans)};\n"
        if enum.reserved_name:
            yield f"{inner}reserved {', '.join(_quote(name) for name in enum.reserved_name)};\n"
        yield f"{pad}}}\n"

    def _extensions(
        self, extensions: Sequence[descriptor_pb2.FieldDescriptorProto], depth: int
    ) -> Iterator[str]:
        pad = "  " * depth
        groups: dict[str, list[descriptor_pb2.FieldDescriptorProto]] = {}
        for extension in extensions:
            groups.setdefault(extension.extendee, []).append(extension)
        for extendee, fields in groups.items():
            yield f"{pad}extend {extendee} {{\n"
            for field in fields:
                yield f"{pad}  {self._field(field, {}, extension=True)}\n"
            yield f"{pad}}}\n"

    def _service(self, service: descriptor_pb2.ServiceDescriptorProto) -> Iterator[str]:
        yield f"service {service.name} {{\n"
        yield from self._statement_options(service.options, "google.protobuf.ServiceOptions", 1)
        for method in service.method:
            request = (
                f"stream {method.input_type}" if method.client_streaming else method.input_type
            )
            response = (
                f"stream {method.output_type}" if method.server_streaming else method.output_type
            )
            head = f"  rpc {method.name}({request}) returns ({response})"
            body = list(self._statement_options(method.options, "google.protobuf.MethodOptions", 2))
            if body:
                yield head + " {\n" + "".join(body) + "  }\n"
            else:
                yield head + ";\n"
        yield "}\n"

    # -- options --------------------------------------------------------------------------

    def _decoded(self, options: Message, full_name: str) -> Message:
        """``options`` re-read against the private pool, so custom options resolve."""
        factory = self._option_classes.get(full_name)
        if factory is None:
            factory = message_factory.GetMessageClass(self._pool.FindMessageTypeByName(full_name))
            self._option_classes[full_name] = factory
        decoded = factory()
        decoded.ParseFromString(options.SerializeToString())
        return decoded

    def _assignments(self, options: Message, full_name: str) -> Iterator[str]:
        if not options.SerializeToString():
            return
        for descriptor, value in self._decoded(options, full_name).ListFields():
            name = f"({descriptor.full_name})" if descriptor.is_extension else descriptor.name
            values = value if _is_repeated(descriptor) else [value]
            for item in values:
                yield f"{name} = {_literal(descriptor, item)}"

    def _statement_options(self, options: Message, full_name: str, depth: int) -> Iterator[str]:
        pad = "  " * depth
        for assignment in self._assignments(options, full_name):
            yield f"{pad}option {assignment};\n"

    def _inline_options(self, options: Message, full_name: str, extras: list[str]) -> str:
        assignments = [*extras, *self._assignments(options, full_name)]
        return f" [{', '.join(assignments)}]" if assignments else ""


def _is_repeated(descriptor: FieldDescriptor) -> bool:
    return bool(descriptor.is_repeated)


def _literal(descriptor: FieldDescriptor, value: Any) -> str:
    if descriptor.type == FieldDescriptor.TYPE_MESSAGE:
        text = text_format.MessageToString(value, as_one_line=True, as_utf8=True)
        return f"{{ {text} }}" if text else "{}"
    if descriptor.type == FieldDescriptor.TYPE_ENUM:
        enum_type = descriptor.enum_type
        enum_value = enum_type.values_by_number.get(value) if enum_type is not None else None
        return enum_value.name if enum_value is not None else str(value)
    if descriptor.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if descriptor.type == FieldDescriptor.TYPE_STRING:
        return _quote(value)
    if descriptor.type == FieldDescriptor.TYPE_BYTES:
        return '"' + text_encoding.CEscape(value, as_utf8=False) + '"'
    if descriptor.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(float(value))
    return str(value)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote(text: str) -> str:
    """A .proto string literal; UTF-8 stays as is, control characters become octal escapes."""
    escaped = (
        _ESCAPES.get(char)
        or (f"\\{ord(char):03o}" if ord(char) < 0x20 or ord(char) == 0x7F else char)
        for char in text
    )
    return '"' + "".join(escaped) + '"'


def _span(start: int, end: int, top: int = _MAX_FIELD_NUMBER - 1) -> str:
    """``start`` to ``end`` inclusive, with ``top`` (the largest number allowed) as ``max``."""
    if end >= top:
        return f"{start} to max"
    return str(start) if start == end else f"{start} to {end}"


def _json_name(name: str) -> str:
    """protoc's default JSON name: drop underscores, upper-case the letter after each."""
    parts: list[str] = []
    upper_next = False
    for char in name:
        if char == "_":
            upper_next = True
        elif upper_next:
            parts.append(char.upper())
            upper_next = False
        else:
            parts.append(char)
    return "".join(parts)

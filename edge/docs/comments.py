"""Leading comments from proto sources (`SourceCodeInfo`), by the full name of the element
they document, for the descriptions of the generated documents."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from google.protobuf import descriptor_pb2

# FileDescriptorProto / DescriptorProto field numbers that SourceCodeInfo paths are made of.
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _NESTED_ENUM = 2, 3, 4
_ENUM_VALUE, _METHOD = 2, 2


NO_COMMENTS: Mapping[str, str] = {}


def comments_from_files(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> dict[str, str]:
    """Every element's leading comment, dedented and stripped; files compiled without source
    info add nothing."""
    found: dict[str, str] = {}
    for file in files:
        names = dict(_paths(file))
        for location in file.source_code_info.location:
            text = _clean(location.leading_comments)
            name = names.get(tuple(location.path))
            if text and name is not None:
                found[name] = text
    return found


def _paths(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[tuple[int, ...], str]]:
    prefix = f"{file.package}." if file.package else ""
    for index, message in enumerate(file.message_type):
        yield from _message_paths(message, (_MESSAGE, index), prefix)
    for index, enum in enumerate(file.enum_type):
        yield from _enum_paths(enum, (_ENUM, index), prefix)
    for index, service in enumerate(file.service):
        path, name = (_SERVICE, index), prefix + service.name
        yield path, name
        for number, method in enumerate(service.method):
            yield (*path, _METHOD, number), f"{name}.{method.name}"


def _message_paths(
    message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], prefix: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    name = prefix + message.name
    yield path, name
    for index, field in enumerate(message.field):
        yield (*path, _FIELD, index), f"{name}.{field.name}"
    for index, nested in enumerate(message.nested_type):
        yield from _message_paths(nested, (*path, _NESTED, index), name + ".")
    for index, enum in enumerate(message.enum_type):
        yield from _enum_paths(enum, (*path, _NESTED_ENUM, index), name + ".")


def _enum_paths(
    enum: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], prefix: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    name = prefix + enum.name
    yield path, name
    for index, value in enumerate(enum.value):
        # Enum values are scoped beside their enum, but documents list them under it.
        yield (*path, _ENUM_VALUE, index), f"{name}.{value.name}"


def _clean(comment: str) -> str:
    lines = [line[1:] if line.startswith(" ") else line for line in comment.splitlines()]
    return "\n".join(lines).strip()

"""Per-message tables built once from the descriptor: for each JSON key its field, reader and
null rule; for each field its JSON name and writer. Reading yields constructor arguments."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from edge.codec import _generate, _scalars, _wellknown
from edge.codec.errors import Invalid

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]

OMIT: Any = object()  # a JSON null that leaves the field unset
SCALAR, MESSAGE, MANY = 0, 1, 2  # how `merge` applies a field: set, merge into, replace


class Entry:
    """One accepted JSON key of a message."""

    __slots__ = ("how", "name", "null", "read")

    def __init__(self, name: str, read: Reader, null: Any, how: int) -> None:
        self.name = name
        self.read = read
        self.null = null
        self.how = how


class Compiled:
    """The codec tables of one message type."""

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.message_class: type[Message] = message_factory.GetMessageClass(descriptor)
        self.entries: dict[str, Entry] = {}
        self.names: dict[FieldDescriptor, tuple[str, Writer | None]] = {}
        wellknown = _wellknown.special(descriptor, compiled)
        self.regular = wellknown is None
        self.filled = False
        self.read: Reader
        self.write: Writer
        if wellknown is None:
            # Replaced by generated code in fill(); until then (a type that contains itself)
            # field codecs refer to these.
            self.read, self.write = self._read_late, self._write_fields
        else:
            self.read, self.write = wellknown

    def fill(self) -> None:
        if not self.regular:
            return
        fields = []
        for field in self.descriptor.fields:
            entry = _entry(field)
            self.entries[field.json_name] = entry
            self.entries[field.name] = entry
            write = _writer(field)
            self.names[field] = (field.json_name, write)
            fields.append(_generate.Field(field, entry.read, write, entry.null, OMIT))
        self.read = _generate.reader(self.descriptor, fields, self._diagnose)
        if not self.descriptor.is_extendable:
            self.write = _generate.writer(self.descriptor, fields)

    def _diagnose(self, value: dict[str, Any]) -> Invalid:
        given: dict[str, str] = {}
        for key in value:
            entry = self.entries.get(key)
            if entry is None:
                return Invalid("unknown field", key)
            if entry.name in given:
                return Invalid(f"given twice, also as {given[entry.name]!r}", key)
            given[entry.name] = key
        return Invalid("unreadable object")

    def _read_late(self, value: Any) -> Any:
        return self.read(value)

    def _write_late(self, message: Any) -> Any:
        return self.write(message)

    def _write_fields(self, message: Any) -> dict[str, Any]:
        names = self.names
        out = {}
        for field, value in message.ListFields():
            try:
                name, write = names[field]
            except KeyError:  # an extension
                name, write = names.setdefault(field, (f"[{field.full_name}]", _writer(field)))
            if write is None:
                out[name] = value
            else:
                try:
                    out[name] = write(value)
                except Invalid as bad:
                    raise bad.within(name) from None
        return out


# Descriptors of pools that reflection has since replaced would pile up here for ever, and
# descriptors cannot be weakly referenced: past this many types the cache starts again.
# Codecs already handed out keep their tables; a type still in use is compiled once more.
LIMIT = 10_000
_compiled: dict[Descriptor, Compiled] = {}
_lock = threading.RLock()
_building = 0


def compiled(descriptor: Descriptor) -> Compiled:
    """The tables of `descriptor`, built at first use (recursive types refer to themselves)."""
    found = _compiled.get(descriptor)
    if found is not None and found.filled:
        return found
    # Another thread waits here until the tables are complete; the compiling thread itself
    # gets them half-built when a type contains itself, and goes through _read_late.
    global _building
    with _lock:
        found = _compiled.get(descriptor)
        if found is None:
            if not _building and len(_compiled) >= LIMIT:
                _compiled.clear()
            found = _compiled[descriptor] = Compiled(descriptor)
            _building += 1
            try:
                found.fill()
            except BaseException:
                del _compiled[descriptor]
                raise
            finally:
                _building -= 1
            found.filled = True
        return found


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and _scalars.message_type(field).GetOptions().map_entry
    )


def _item_reader(field: FieldDescriptor) -> Reader:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        inner = compiled(_scalars.message_type(field))
        return inner.read if inner.filled else inner._read_late
    return _scalars.scalar_reader(field)


def _item_writer(field: FieldDescriptor) -> Writer | None:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        inner = compiled(_scalars.message_type(field))
        return inner.write if inner.filled else inner._write_late
    return _scalars.scalar_writer(field)


def _null(field: FieldDescriptor) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return (
            {"null_value": 0}
            if _scalars.message_type(field).full_name == "google.protobuf.Value"
            else OMIT
        )
    if field.type == FieldDescriptor.TYPE_ENUM:
        return 0 if _scalars.enum_type(field).full_name == "google.protobuf.NullValue" else OMIT
    return OMIT


def _entry(field: FieldDescriptor) -> Entry:
    if _is_map(field):
        return Entry(field.name, _map_reader(field), OMIT, MANY)
    if field.is_repeated:
        return Entry(field.name, _list_reader(_item_reader(field)), OMIT, MANY)
    how = MESSAGE if field.type == FieldDescriptor.TYPE_MESSAGE else SCALAR
    return Entry(field.name, _item_reader(field), _null(field), how)


def _list_reader(read: Reader) -> Reader:
    def read_list(value: Any) -> list[Any]:
        if type(value) is not list:
            raise Invalid(f"expected a JSON array, got {_scalars.kind_of(value)}")
        try:
            return [read(item) for item in value]
        except Invalid:
            for index, item in enumerate(value):
                try:
                    read(item)
                except Invalid as bad:
                    raise bad.within(f"[{index}]") from None
            raise

    return read_list


def _map_reader(field: FieldDescriptor) -> Reader:
    entry = _scalars.message_type(field)
    read_key = _scalars.key_reader(entry.fields_by_name["key"])
    read_value = _item_reader(entry.fields_by_name["value"])

    def read_map(value: Any) -> dict[Any, Any]:
        if type(value) is not dict:
            raise Invalid(f"expected a JSON object, got {_scalars.kind_of(value)}")
        out = {}
        for key, item in value.items():
            try:
                out[read_key(key)] = read_value(item)
            except Invalid as bad:
                raise bad.within(key) from None
        return out

    return read_map


def _writer(field: FieldDescriptor) -> Writer | None:
    if _is_map(field):
        entry = _scalars.message_type(field)
        key_type = entry.fields_by_name["key"].type
        write_key: Writer = _bool_key if key_type == FieldDescriptor.TYPE_BOOL else str
        write_value = _item_writer(entry.fields_by_name["value"])
        if write_value is None:
            return lambda value: {write_key(k): v for k, v in value.items()}
        return lambda value: {write_key(k): write_value(v) for k, v in value.items()}
    write = _item_writer(field)
    if field.is_repeated:
        if write is None:
            return list
        return lambda value: [write(item) for item in value]
    return write


def _bool_key(key: bool) -> str:
    return "true" if key else "false"

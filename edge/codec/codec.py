"""Proto3 JSON ↔ protobuf for one message type, with the results of `json_format` and none
of its per-call descriptor walking: every message type is compiled once into tables."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from edge.codec._compile import MANY, MESSAGE, OMIT, Compiled, compiled
from edge.codec.errors import CodecError, Invalid


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json_format refuses a key given twice rather than keep the last silently; so do we.
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return value


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class MessageCodec:
    """Encodes and decodes one message type as proto3 JSON."""

    __slots__ = ("_tables", "descriptor", "message_class")

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self._tables = compiled(descriptor)
        self.message_class: type[Message] = self._tables.message_class

    def decode(self, data: bytes | str) -> Message:
        """A new message from JSON text."""
        try:
            text = data.decode() if isinstance(data, (bytes, bytearray)) else data
            value = _DECODER.decode(text)
        except (ValueError, RecursionError) as error:
            raise CodecError("", f"malformed JSON: {error}") from None
        return _build(self._tables, value, "")

    def merge(self, value: Any, message: Message, path: str = "") -> None:
        """Merges an already-parsed JSON value (e.g. a dict) into `message`; when it raises,
        `message` is unchanged. `path` prefixes the field named in errors."""
        scratch = self.message_class()
        scratch.CopyFrom(message)
        try:
            _merge(self._tables, value, scratch)
        except Invalid as bad:
            raise bad.error(path) from None
        except RecursionError:
            raise CodecError(path, "nested too deeply") from None
        message.CopyFrom(scratch)

    def to_dict(self, message: Message) -> dict[str, Any]:
        """The proto3 JSON object of `message` (json_format.MessageToDict's defaults)."""
        try:
            return self._tables.write(message)  # type: ignore[no-any-return]
        except Invalid as bad:
            raise bad.error() from None

    def encode(self, message: Message) -> bytes:
        """The proto3 JSON text of `message`, UTF-8."""
        return _ENCODER.encode(self.to_dict(message)).encode()


@lru_cache(maxsize=4096)
def codec_for(descriptor: Descriptor) -> MessageCodec:
    """The codec for `descriptor`, built once."""
    return MessageCodec(descriptor)


def _build(tables: Compiled, value: Any, path: str) -> Message:
    try:
        argument = tables.read(value)
    except Invalid as bad:
        raise bad.error(path) from None
    except RecursionError:
        raise CodecError(path, "nested too deeply") from None
    if type(argument) is not dict:
        return argument  # type: ignore[no-any-return]
    try:
        return tables.message_class(**argument)
    except (ValueError, TypeError) as error:
        raise CodecError(path, str(error)) from None


def _merge(tables: Compiled, value: Any, message: Any) -> None:
    if not tables.regular:
        if tables.descriptor.full_name == "google.protobuf.Any" and value == {}:
            return
        argument = tables.read(value)
        message.CopyFrom(tables.message_class(**argument) if type(argument) is dict else argument)
        return
    tables.read(value)  # validates every field before anything is set
    for key, item in value.items():
        entry = tables.entries[key]
        name = entry.name
        if item is None:
            if entry.null is OMIT:
                message.ClearField(name)
            elif entry.how == MESSAGE:
                getattr(message, name).null_value = 0
            else:
                setattr(message, name, entry.null)
        elif entry.how == MESSAGE:
            child = getattr(message, name)
            child.SetInParent()
            try:
                _merge(compiled(child.DESCRIPTOR), item, child)
            except Invalid as bad:
                raise bad.within(key) from None
        elif entry.how == MANY:
            message.ClearField(name)
            message.MergeFrom(tables.message_class(**{name: entry.read(item)}))
        else:
            setattr(message, name, entry.read(item))

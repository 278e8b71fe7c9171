"""Proto3 JSON ↔ protobuf for one message type, on top of `google.protobuf.json_format`."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import Message

from edge.codec.errors import CodecError

_UNKNOWN = re.compile(r'has no field named "([^"]+)" at "([^"]*)"')
_AT = re.compile(r" at ([\w.\[\]]+?)\.*$", re.MULTILINE)
_FAILED = re.compile(r"Failed to parse (\w+) field")


def _field_of(error: json_format.ParseError, prefix: str) -> str:
    text = str(error)
    unknown = _UNKNOWN.search(text)
    if unknown:
        name, at = unknown.groups()
        path = ".".join(p for p in (at.split(".", 1)[1] if "." in at else "", name) if p)
    else:
        found = _AT.search(text)
        if found and "." in found.group(1):
            path = found.group(1).split(".", 1)[1]
        else:
            path = ".".join(_FAILED.findall(text))
    return ".".join(p for p in (prefix, path) if p)


def _pool(message: Message) -> DescriptorPool:
    pool: DescriptorPool = message.DESCRIPTOR.file.pool  # type: ignore[assignment]
    return pool


class MessageCodec:
    """Encodes and decodes one message type as proto3 JSON."""

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.message_class: type[Message] = message_factory.GetMessageClass(descriptor)

    def decode(self, data: bytes) -> Message:
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError) as error:
            raise CodecError("", f"malformed JSON: {error}") from None
        message = self.message_class()
        self.merge(value, message)
        return message

    def merge(self, value: Any, message: Message, path: str = "") -> None:
        try:
            json_format.ParseDict(value, message, descriptor_pool=_pool(message))
        except json_format.ParseError as error:
            raise CodecError(_field_of(error, path), str(error)) from None

    def to_dict(self, message: Message) -> dict[str, Any]:
        return json_format.MessageToDict(message, descriptor_pool=_pool(message))

    def encode(self, message: Message) -> bytes:
        return json.dumps(self.to_dict(message), separators=(",", ":")).encode()


@cache
def codec_for(descriptor: Descriptor) -> MessageCodec:
    """The codec for `descriptor`, built once."""
    return MessageCodec(descriptor)

"""Proto3 JSON ↔ protobuf for the edge's REST bodies and Socket.IO payloads, with the same
results as `google.protobuf.json_format`."""

from __future__ import annotations

from edge.codec.codec import MessageCodec, codec_for
from edge.codec.errors import CodecError

__all__ = ["CodecError", "MessageCodec", "codec_for"]

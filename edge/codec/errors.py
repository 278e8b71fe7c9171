"""The codec's errors: which field of the client's JSON is wrong, and how."""

from __future__ import annotations


class CodecError(ValueError):
    """JSON that does not fit the message: `field` is the dotted JSON path as the client wrote
    it (`order.quantity`, `legs[2].price`; "" for the whole document)."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}" if field else description)
        self.field = field
        self.description = description


class Invalid(Exception):
    """Raised deep inside a compiled reader; each enclosing level adds its key on the way out,
    so the path is only built when something is wrong."""

    def __init__(self, description: str, *segments: str) -> None:
        super().__init__(description)
        self.description = description
        self.segments = list(segments)  # innermost first

    def within(self, segment: str) -> Invalid:
        self.segments.append(segment)
        return self

    def error(self, prefix: str = "") -> CodecError:
        path = prefix
        for segment in reversed(self.segments):
            if segment.startswith("["):
                path += segment
            else:
                path = f"{path}.{segment}" if path else segment
        return CodecError(path, self.description)

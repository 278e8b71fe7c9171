"""The codec's one error: which field of the client's JSON is wrong, and how."""

from __future__ import annotations


class CodecError(ValueError):
    """JSON that does not fit the message: `field` is the dotted JSON path as the client wrote
    it (`order.quantity`, `legs[2].price`; "" for the whole document)."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}" if field else description)
        self.field = field
        self.description = description

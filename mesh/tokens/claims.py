"""The verified contents of a token."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TokenType(StrEnum):
    """The `typ` claim: which job a token may be used for."""

    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says about its holder."""

    subject: str
    session_id: str
    roles: tuple[str, ...]
    token_id: str
    issued_at: int
    expires_at: int
    token_type: TokenType

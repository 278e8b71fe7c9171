"""Checks on user input the domain applies itself, whatever transport the input came by."""

from __future__ import annotations

import re
import uuid

from mesh.errors import FieldViolation, InvalidArgument

EMAIL_MAX_CHARS = 254
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 128
DISPLAY_NAME_MAX_CHARS = 100

# Deliberately loose: one @, no whitespace, a dot in the domain. Deliverability is the
# mail server's business; this only rejects what cannot be an address.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(
        f"{field}: {description}", [FieldViolation(field=field, description=description)]
    )


def normalize_email(raw: str, *, field: str = "email") -> str:
    """Trimmed and lower-cased; the form emails are stored and looked up in."""
    email = raw.strip().lower()
    if not email:
        raise _invalid(field, "is required")
    if len(email) > EMAIL_MAX_CHARS:
        raise _invalid(field, f"must be at most {EMAIL_MAX_CHARS} characters")
    if not _EMAIL.fullmatch(email):
        raise _invalid(field, "is not a valid email address")
    return email


def check_password(password: str, *, field: str = "password") -> None:
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise _invalid(
            field, f"must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters long"
        )


def clean_display_name(raw: str, *, field: str = "display_name") -> str:
    name = raw.strip()
    if not name:
        raise _invalid(field, "is required")
    if len(name) > DISPLAY_NAME_MAX_CHARS:
        raise _invalid(field, f"must be at most {DISPLAY_NAME_MAX_CHARS} characters")
    if _CONTROL.search(name):
        raise _invalid(field, "must not contain control characters")
    return name


def check_user_id(raw: str, *, field: str = "user_id") -> str:
    """The canonical (lower-case, hyphenated) form of a user id, which is a UUID."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise _invalid(field, "must be a UUID") from None

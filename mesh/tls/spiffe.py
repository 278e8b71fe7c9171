"""Service names and the SPIFFE IDs that carry them in mesh certificates."""

from __future__ import annotations

import re

TRUST_DOMAIN = "trademesh"

_SCHEME_PREFIX = f"spiffe://{TRUST_DOMAIN}/"
# A service name is also used as a DNS SAN and a file name, so it must be a DNS label.
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def validate_service_name(name: str) -> str:
    """Return `name` if it is a valid service name, else raise ValueError."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError(
            f"invalid service name {name!r}: use 1-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    return name


def spiffe_id(name: str) -> str:
    """The SPIFFE ID naming service `name`: ``spiffe://trademesh/<name>``."""
    return _SCHEME_PREFIX + validate_service_name(name)


def service_name_from_spiffe_id(uri: str) -> str | None:
    """The service name in a ``spiffe://trademesh/<name>`` URI, or None for any other URI."""
    if not uri.startswith(_SCHEME_PREFIX):
        return None
    name = uri[len(_SCHEME_PREFIX) :]
    return name if _NAME.fullmatch(name) else None

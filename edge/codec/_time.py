"""Timestamp and Duration as RFC 3339 / "1.5s" strings: a fast path for the canonical forms,
`google.protobuf`'s own parser for everything else so both accept exactly the same text."""

from __future__ import annotations

import datetime
import re
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2

from edge.codec.errors import Invalid

_SECONDS_PER_DAY = 86400
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_TIMESTAMP_MIN = -62135596800
_TIMESTAMP_MAX = 253402300799
_DURATION_MAX = 315576000000
_CANONICAL_MINUTE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):\Z", re.ASCII)
_CANONICAL_DURATION = re.compile(r"(-?)(\d{1,12})(?:\.(\d{1,9}))?s\Z", re.ASCII)


def _fraction(nanos: int, unit: str) -> str:
    if nanos == 0:
        return unit
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}{unit}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}{unit}"
    return f".{nanos:09d}{unit}"


def _bounded(cache: dict[Any, Any]) -> dict[Any, Any]:
    if len(cache) > 4096:
        cache.clear()
    return cache


_MINUTE_TEXT: dict[int, str] = {}  # minutes since the epoch → "YYYY-MM-DDTHH:MM:"
_MINUTE_SECONDS: dict[str, int] = {}  # the reverse, for canonical input


_TWO_DIGITS = [f"{n:02d}" for n in range(60)]
_MILLIS_Z = [f".{n:03d}Z" for n in range(1000)]  # most timestamps carry milliseconds


def write_timestamp(message: Any) -> str:
    seconds: int = message.seconds
    nanos: int = message.nanos
    if not _TIMESTAMP_MIN <= seconds <= _TIMESTAMP_MAX or not 0 <= nanos < 1_000_000_000:
        raise Invalid(f"Timestamp out of range: seconds={seconds} nanos={nanos}")
    minutes, second = divmod(seconds, 60)
    prefix = _MINUTE_TEXT.get(minutes)
    if prefix is None:
        days, minute_of_day = divmod(minutes, 1440)
        day = datetime.date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
        prefix = f"{day}T{minute_of_day // 60:02d}:{minute_of_day % 60:02d}:"
        _bounded(_MINUTE_TEXT)[minutes] = prefix
    if nanos == 0:
        return prefix + _TWO_DIGITS[second] + "Z"
    if nanos % 1_000_000 == 0:
        return prefix + _TWO_DIGITS[second] + _MILLIS_Z[nanos // 1_000_000]
    return prefix + _TWO_DIGITS[second] + _fraction(nanos, "Z")


def _minute_seconds(prefix: str) -> int | None:
    match = _CANONICAL_MINUTE.match(prefix)
    if not match:
        return None
    year, month, day, hour, minute = (int(part) for part in match.groups())
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        return None
    if hour > 23 or minute > 59:
        return None
    seconds = (date.toordinal() - _EPOCH_ORDINAL) * _SECONDS_PER_DAY + hour * 3600 + minute * 60
    _bounded(_MINUTE_SECONDS)[prefix] = seconds
    return seconds


def read_timestamp(value: Any) -> dict[str, int]:
    if type(value) is not str:
        raise Invalid("expected an RFC 3339 timestamp string")
    # The canonical "YYYY-MM-DDTHH:MM:SS[.fraction]Z" without strptime.
    if 20 <= len(value) <= 30 and value[-1] == "Z" and value.isascii():
        base = _MINUTE_SECONDS.get(value[:17])
        if base is None:
            base = _minute_seconds(value[:17])
        second = value[17:19]
        if base is not None and second.isdigit() and second < "60":
            if len(value) == 20:
                return {"seconds": base + int(second), "nanos": 0}
            fraction = value[20:-1]
            if value[19] == "." and fraction.isdigit():
                return {"seconds": base + int(second), "nanos": int(fraction.ljust(9, "0"))}
    parsed = timestamp_pb2.Timestamp()
    try:
        parsed.FromJsonString(value)
    except ValueError as error:
        raise Invalid(f"not a valid RFC 3339 timestamp: {error}") from None
    return {"seconds": parsed.seconds, "nanos": parsed.nanos}


def write_duration(message: Any) -> str:
    seconds, nanos = message.seconds, message.nanos
    if (
        not -_DURATION_MAX <= seconds <= _DURATION_MAX
        or not -1_000_000_000 < nanos < 1_000_000_000
        or (seconds < 0 < nanos)
        or (nanos < 0 < seconds)
    ):
        raise Invalid(f"Duration out of range: seconds={seconds} nanos={nanos}")
    sign = "-" if seconds < 0 or nanos < 0 else ""
    return f"{sign}{abs(seconds)}{_fraction(abs(nanos), 's')}"


def read_duration(value: Any) -> dict[str, int]:
    if type(value) is not str:
        raise Invalid('expected a duration string such as "1.5s"')
    match = _CANONICAL_DURATION.match(value)
    if match:
        sign, whole, fraction = match.groups()
        seconds = int(whole)
        nanos = int(fraction.ljust(9, "0")) if fraction else 0
        if seconds <= _DURATION_MAX:
            return (
                {"seconds": -seconds, "nanos": -nanos}
                if sign
                else {"seconds": seconds, "nanos": nanos}
            )
    parsed = duration_pb2.Duration()
    try:
        parsed.FromJsonString(value)
    except ValueError as error:
        raise Invalid(f"not a valid duration: {error}") from None
    return {"seconds": parsed.seconds, "nanos": parsed.nanos}

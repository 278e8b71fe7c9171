"""Instruments and the universe of them: lookup by symbol and ranked, paged search."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mesh import paging
from mesh.errors import FieldViolation, InvalidArgument, NotFound

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
_PAGE_TOKENS = paging.KeysetTokens((int,))  # (offset,) into the ranked matches of a query


class AssetClass(enum.StrEnum):
    EQUITY = "equity"
    ETF = "etf"


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    name: str
    exchange: str  # MIC
    currency: str  # ISO 4217
    asset_class: AssetClass
    tick_size: Decimal
    lot_size: Decimal
    tradable: bool
    # Where a simulated feed starts; a real provider ignores it.
    reference_price: Decimal

    def __post_init__(self) -> None:
        if not self.symbol or self.symbol != self.symbol.upper():
            raise ValueError(f"instrument symbol must be upper case, got {self.symbol!r}")
        for name in ("tick_size", "lot_size", "reference_price"):
            value = getattr(self, name)
            if not value.is_finite() or value <= 0:
                raise ValueError(f"{self.symbol}: {name} must be positive, got {value}")
        if self.reference_price % self.tick_size != 0:
            raise ValueError(f"{self.symbol}: reference_price is not a multiple of tick_size")


@dataclass(frozen=True, slots=True)
class SearchPage:
    instruments: tuple[Instrument, ...]
    next_page_token: str


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])


def unknown_symbols(symbols: Iterable[str]) -> NotFound:
    listed = sorted(set(symbols))
    noun = "symbol" if len(listed) == 1 else "symbols"
    return NotFound(
        f"unknown {noun}: {', '.join(listed)}",
        reason="INSTRUMENT_NOT_FOUND",
        metadata={"symbols": ",".join(listed)},
    )


class Universe:
    """An immutable set of instruments keyed by symbol."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_symbol: dict[str, Instrument] = {}
        for instrument in instruments:
            if instrument.symbol in self._by_symbol:
                raise ValueError(f"instrument {instrument.symbol} is listed twice")
            self._by_symbol[instrument.symbol] = instrument
        if not self._by_symbol:
            raise ValueError("the instrument universe is empty")
        self._sorted = tuple(sorted(self._by_symbol.values(), key=lambda i: i.symbol))

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(i.symbol for i in self._sorted)

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return self._sorted

    def get(self, symbol: str) -> Instrument:
        """The instrument, or NOT_FOUND naming the symbol."""
        instrument = self._by_symbol.get(symbol)
        if instrument is None:
            raise unknown_symbols([symbol])
        return instrument

    def require(self, symbols: Sequence[str], *, field: str = "symbols") -> tuple[str, ...]:
        """The symbols, checked: none empty, none repeated, every one known (NOT_FOUND names
        all the unknown ones at once)."""
        if not symbols:
            raise _invalid(field, "at least one symbol is required")
        seen: set[str] = set()
        for index, symbol in enumerate(symbols):
            if not symbol:
                raise _invalid(f"{field}[{index}]", "must not be empty")
            if symbol in seen:
                raise _invalid(f"{field}[{index}]", f"{symbol} is repeated")
            seen.add(symbol)
        unknown = [s for s in symbols if s not in self._by_symbol]
        if unknown:
            raise unknown_symbols(unknown)
        return tuple(symbols)

    def subset(self, symbols: Sequence[str]) -> Universe:
        """The universe narrowed to `symbols`; every one must be known."""
        return Universe(self.get(s) for s in symbols)

    def search(self, query: str, *, page_size: int = 0, page_token: str = "") -> SearchPage:
        """Instruments matching `query`, best first: exact symbol, symbol prefix, a word of
        the name starting with it, the name containing it; ties by symbol."""
        needle = query.strip().casefold()
        if not needle:
            raise _invalid("query", "must contain a non-blank character")
        size = paging.page_size(
            page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE, refuse_over=True
        )
        offset = _decode_token(page_token, needle)
        ranked = sorted(
            (
                (rank, instrument.symbol, instrument)
                for instrument in self._sorted
                if (rank := _rank(instrument, needle)) is not None
            ),
            key=lambda entry: (entry[0], entry[1]),
        )
        page = tuple(instrument for _, _, instrument in ranked[offset : offset + size])
        more = offset + size < len(ranked)
        return SearchPage(page, _encode_token(needle, offset + size) if more else "")


def _rank(instrument: Instrument, needle: str) -> int | None:
    symbol = instrument.symbol.casefold()
    name = instrument.name.casefold()
    if symbol == needle:
        return 0
    if symbol.startswith(needle):
        return 1
    if name.startswith(needle) or any(w.startswith(needle) for w in name.split()):
        return 2
    if needle in name:
        return 3
    return None


def _encode_token(needle: str, offset: int) -> str:
    return _PAGE_TOKENS.encode((offset,), {"query": needle})


def _decode_token(token: str, needle: str) -> int:
    try:
        key = _PAGE_TOKENS.decode(token, {"query": needle})
    except paging.InvalidPageToken as exc:
        raise paging.invalid_argument(exc) from None
    offset: int = 0 if key is None else key[0]
    if offset < 0:
        raise paging.invalid_argument(paging.InvalidPageToken("page token is not valid"))
    return offset

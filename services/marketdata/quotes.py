"""Quotes and the provider interface a feed implements (the simulated one or a real one)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol, runtime_checkable

_HUNDRED = Decimal(100)
_PERCENT_PLACES = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Quote:
    """One snapshot of an instrument's market. Every price is a multiple of its tick size."""

    symbol: str
    bid_price: Decimal
    bid_size: Decimal
    ask_price: Decimal
    ask_size: Decimal
    last_price: Decimal
    volume: Decimal  # traded today
    previous_close: Decimal
    currency: str
    quote_time: datetime  # timezone-aware UTC
    # Orders this symbol's quotes within a trading day: a higher one is newer. The simulated
    # feed uses the tick of the day, counted from midnight UTC.
    sequence: int = 0

    @property
    def change(self) -> Decimal:
        return self.last_price - self.previous_close

    @property
    def change_percent(self) -> Decimal:
        if not self.previous_close:
            return Decimal(0).quantize(_PERCENT_PLACES)
        ratio = self.change * _HUNDRED / self.previous_close
        return ratio.quantize(_PERCENT_PLACES, rounding=ROUND_HALF_EVEN)

    @property
    def mid_price(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2


# Receives each batch of new quotes. It must not block and must not raise; a provider calls
# it from the event loop, once per batch.
QuoteSink = Callable[[Sequence[Quote]], None]


@runtime_checkable
class QuoteProvider(Protocol):
    """A source of quotes for a fixed set of symbols.

    `snapshot()` answers the current quote of every symbol the provider serves and is
    called before `run`. `run(sink)` hands every later quote to `sink`, in order per symbol,
    until it is cancelled; if it raises, the caller logs it and runs it again.
    """

    @property
    def symbols(self) -> Sequence[str]: ...

    def snapshot(self) -> Sequence[Quote]: ...

    async def run(self, sink: QuoteSink) -> None: ...

"""The simulated feed: a seeded random walk per instrument, one step per tick.

`SimulatedMarket` is the pure, deterministic part: the same instruments, seed and settings
give the same prices, sizes and volumes step after step. `SimulatedFeed` drives it on a
timer as a `QuoteProvider`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from services.marketdata.instruments import Instrument
from services.marketdata.quotes import Quote, QuoteSink

_BPS = Decimal(10_000)
_RETURN_PLACES = ".10f"


@dataclass(frozen=True, slots=True)
class WalkSettings:
    # Standard deviation of one tick's relative price move (0.001 is 0.1 %).
    volatility: float = 0.001
    # Quoted spread in basis points of the price; never narrower than one tick.
    spread_bps: int = 10
    # Displayed size at the bid and the ask, in lots: uniform in 1..max_size_lots.
    max_size_lots: int = 50
    # Traded volume added per tick, in lots: uniform in 0..max_tick_volume_lots.
    max_tick_volume_lots: int = 500

    def __post_init__(self) -> None:
        if not 0 < self.volatility <= 0.1:
            raise ValueError(f"volatility must be in (0, 0.1], got {self.volatility}")
        if not 0 < self.spread_bps <= 1000:
            raise ValueError(f"spread_bps must be in 1..1000, got {self.spread_bps}")
        if self.max_size_lots < 1 or self.max_tick_volume_lots < 0:
            raise ValueError("max_size_lots must be >= 1 and max_tick_volume_lots >= 0")


def to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """`price` rounded to the nearest multiple of `tick` (half to even), never below one tick."""
    ticks = (price / tick).to_integral_value(rounding=ROUND_HALF_EVEN)
    return max(ticks, Decimal(1)) * tick


@dataclass(slots=True)
class _State:
    instrument: Instrument
    last: Decimal
    volume: Decimal
    quote: Quote


class SimulatedMarket:
    """Random-walk prices for `instruments`, deterministic under `seed`.

    Each step moves every instrument once, in symbol order, drawing from one generator;
    wall-clock time enters only as the quotes' timestamps.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        seed: int,
        settings: WalkSettings | None = None,
        start: datetime | None = None,
    ) -> None:
        self._settings = settings or WalkSettings()
        self._rng = random.Random(seed)
        when = start or datetime.now(UTC)
        self._states: dict[str, _State] = {}
        for instrument in sorted(instruments, key=lambda i: i.symbol):
            last = to_tick(instrument.reference_price, instrument.tick_size)
            quote = self._quote(instrument, last, Decimal(0), when, sequence=0)
            self._states[instrument.symbol] = _State(instrument, last, Decimal(0), quote)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._states)

    def snapshot(self) -> list[Quote]:
        return [state.quote for state in self._states.values()]

    def step(self, now: datetime | None = None) -> list[Quote]:
        """Move every instrument one tick; the new quotes, in symbol order."""
        when = now or datetime.now(UTC)
        quotes = []
        for state in self._states.values():
            tick = state.instrument.tick_size
            move = Decimal(format(self._rng.gauss(0.0, self._settings.volatility), _RETURN_PLACES))
            state.last = to_tick(state.last * (1 + move), tick)
            lots = self._rng.randint(0, self._settings.max_tick_volume_lots)
            state.volume += lots * state.instrument.lot_size
            sequence = state.quote.sequence + 1
            state.quote = self._quote(state.instrument, state.last, state.volume, when, sequence)
            quotes.append(state.quote)
        return quotes

    def _quote(
        self,
        instrument: Instrument,
        last: Decimal,
        volume: Decimal,
        when: datetime,
        sequence: int,
    ) -> Quote:
        tick = instrument.tick_size
        half_spread = to_tick(last * self._settings.spread_bps / _BPS / 2, tick)
        bid = max(last - half_spread, tick)
        ask = max(last + half_spread, bid + tick)
        lot = instrument.lot_size
        return Quote(
            symbol=instrument.symbol,
            bid_price=bid,
            bid_size=self._rng.randint(1, self._settings.max_size_lots) * lot,
            ask_price=ask,
            ask_size=self._rng.randint(1, self._settings.max_size_lots) * lot,
            last_price=last,
            volume=volume,
            previous_close=to_tick(instrument.reference_price, tick),
            currency=instrument.currency,
            quote_time=when,
            sequence=sequence,
        )


class SimulatedFeed:
    """A `QuoteProvider`: one `SimulatedMarket` step every `tick_interval_seconds`."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        seed: int,
        tick_interval_seconds: float = 1.0,
        settings: WalkSettings | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not tick_interval_seconds > 0:
            raise ValueError(f"tick_interval_seconds must be positive, got {tick_interval_seconds}")
        self._now = now
        self._market = SimulatedMarket(instruments, seed=seed, settings=settings, start=now())
        self._interval = tick_interval_seconds

    @property
    def symbols(self) -> Sequence[str]:
        return self._market.symbols

    def snapshot(self) -> Sequence[Quote]:
        return self._market.snapshot()

    async def run(self, sink: QuoteSink) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += self._interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            # A stalled loop skips the ticks it missed rather than bursting to catch up.
            due = max(due, loop.time() - self._interval)
            sink(self._market.step(self._now()))

"""The simulated feed: a seeded random walk per instrument, one step per tick of the clock.

The quote of a symbol at a tick depends only on the seed, the symbol and the tick, never on
when the process started: every instance with the same seed quotes the same prices at the
same moment, and their QuoteUpdated records on the compacted topic agree. Ticks are counted
from midnight UTC; each day opens at a previous close drawn near the reference price and
walks from there, and volume starts the day at zero.

The walk over a day's ticks is built as a Brownian bridge on a binary tree: the sum of all
increments of a span is drawn first, then split between its halves, and so on down. Each
draw comes from a hash of (seed, symbol, day, node), so the sum of the first n increments is
found in O(log n) without stepping through them, and every n agrees with every other.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from services.marketdata.instruments import Instrument
from services.marketdata.quotes import Quote, QuoteSink

_BPS = Decimal(10_000)
_DAY_MICROS = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TWO_64 = float(1 << 64)


@dataclass(frozen=True, slots=True)
class WalkSettings:
    # Standard deviation of the price's relative move over a whole day (0.02 is 2 %),
    # spread evenly over the day's ticks whatever their interval.
    volatility: float = 0.02
    # Standard deviation of a day's previous close around the reference price.
    daily_volatility: float = 0.01
    # Quoted spread in basis points of the price; never narrower than one tick.
    spread_bps: int = 10
    # Displayed size at the bid and the ask, in lots: uniform in 1..max_size_lots.
    max_size_lots: int = 50
    # Traded volume per tick, in lots: max_tick_volume_lots / 2 on average.
    max_tick_volume_lots: int = 500

    def __post_init__(self) -> None:
        if not 0 < self.volatility <= 1:
            raise ValueError(f"volatility must be in (0, 1], got {self.volatility}")
        if not 0 <= self.daily_volatility <= 0.2:
            raise ValueError(f"daily_volatility must be in [0, 0.2], got {self.daily_volatility}")
        if not 0 < self.spread_bps <= 1000:
            raise ValueError(f"spread_bps must be in 1..1000, got {self.spread_bps}")
        if self.max_size_lots < 1 or self.max_tick_volume_lots < 0:
            raise ValueError("max_size_lots must be >= 1 and max_tick_volume_lots >= 0")


def to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """`price` rounded to the nearest multiple of `tick` (half to even), never below one tick."""
    ticks = (price / tick).to_integral_value(rounding=ROUND_HALF_EVEN)
    return max(ticks, Decimal(1)) * tick


@dataclass(frozen=True, slots=True, order=True)
class Tick:
    """One tick of the clock: `index` counts ticks since 1970-01-01 UTC."""

    index: int
    day: date
    of_day: int  # ticks since midnight UTC
    time: datetime  # when the tick starts


class _Draws:
    """Uniform and normal numbers named by a key: the same key, the same numbers.

    Normal draws are cached: consecutive ticks walk mostly the same nodes of the bridge.
    """

    def __init__(self, seed: int, cache_size: int) -> None:
        self._seed = seed
        self.normal_and_uniform = functools.lru_cache(maxsize=cache_size)(self._normal_and_uniform)

    def uniforms(self, *key: object) -> tuple[float, float, float]:
        name = "|".join(str(part) for part in (self._seed, *key)).encode()
        digest = hashlib.blake2b(name, digest_size=24).digest()
        return tuple(  # type: ignore[return-value]
            (int.from_bytes(digest[i : i + 8], "big") + 0.5) / _TWO_64 for i in (0, 8, 16)
        )

    def _normal_and_uniform(self, *key: object) -> tuple[float, float]:
        u1, u2, u3 = self.uniforms(*key)
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2), u3


class SimulatedMarket:
    """Quotes for `instruments` at any tick, deterministic under `seed`."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        seed: int,
        tick_interval_seconds: float = 1.0,
        settings: WalkSettings | None = None,
    ) -> None:
        self._interval_micros = round(tick_interval_seconds * 1_000_000)
        if self._interval_micros < 1:
            raise ValueError(f"tick_interval_seconds must be positive, got {tick_interval_seconds}")
        self._settings = settings or WalkSettings()
        self._instruments = {i.symbol: i for i in sorted(instruments, key=lambda i: i.symbol)}
        # Room for two root-to-leaf paths per symbol, plus its previous close.
        self._draws = _Draws(seed, cache_size=len(self._instruments) * 2 * 64)
        ticks_per_day = -(-_DAY_MICROS // self._interval_micros)
        self._span = 1 << max(ticks_per_day - 1, 1).bit_length()  # the bridge's leaves
        self._tick_volatility = self._settings.volatility / math.sqrt(ticks_per_day)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._instruments)

    @property
    def tick_interval(self) -> timedelta:
        return timedelta(microseconds=self._interval_micros)

    def tick_at(self, when: datetime) -> Tick:
        """The tick running at `when`."""
        micros = (when - _EPOCH) // timedelta(microseconds=1)
        return self._tick(micros // self._interval_micros)

    def next_tick(self, tick: Tick) -> Tick:
        return self._tick(tick.index + 1)

    def _tick(self, index: int) -> Tick:
        start = index * self._interval_micros
        midnight = start - start % _DAY_MICROS
        time = _EPOCH + timedelta(microseconds=start)
        return Tick(index, time.date(), (start - midnight) // self._interval_micros, time)

    def quotes(self, tick: Tick) -> list[Quote]:
        """Every instrument's quote at `tick`, in symbol order."""
        return [self._quote(instrument, tick) for instrument in self._instruments.values()]

    def _quote(self, instrument: Instrument, tick: Tick) -> Quote:
        settings = self._settings
        symbol, tick_size, lot = instrument.symbol, instrument.tick_size, instrument.lot_size
        z_close, _ = self._draws.normal_and_uniform(symbol, "close", tick.day.toordinal())
        previous_close = to_tick(
            instrument.reference_price * _exp(settings.daily_volatility * z_close), tick_size
        )
        walk, volume_lots = self._prefix((symbol, tick.day.toordinal()), tick.of_day)
        last = to_tick(previous_close * _exp(self._tick_volatility * walk), tick_size)
        half_spread = to_tick(last * settings.spread_bps / _BPS / 2, tick_size)
        bid = max(last - half_spread, tick_size)
        ask = max(last + half_spread, bid + tick_size)
        u_bid, u_ask, _ = self._draws.uniforms(symbol, "size", tick.index)
        return Quote(
            symbol=symbol,
            bid_price=bid,
            bid_size=(1 + int(u_bid * settings.max_size_lots)) * lot,
            ask_price=ask,
            ask_size=(1 + int(u_ask * settings.max_size_lots)) * lot,
            last_price=last,
            volume=volume_lots * lot,
            previous_close=previous_close,
            currency=instrument.currency,
            quote_time=tick.time,
            sequence=tick.of_day,
        )

    def _prefix(self, key: tuple[object, ...], n: int) -> tuple[float, int]:
        """The sum of the first `n` standard normal increments of the day named by `key`,
        and the lots traded in its first `n` ticks."""
        length = self._span
        n = min(max(n, 0), length)
        z, u = self._draws.normal_and_uniform(*key, 0, 0)
        node_walk = math.sqrt(length) * z
        node_lots = int(length * self._settings.max_tick_volume_lots * (0.25 + 0.5 * u))
        start, level, index = 0, 0, 0
        walk, lots = 0.0, 0
        while True:
            if n >= start + length:
                return walk + node_walk, lots + node_lots
            if n <= start:
                return walk, lots
            half = length // 2
            z, u = self._draws.normal_and_uniform(*key, level + 1, 2 * index)
            # The left half's sum given the node's: N(sum / 2, length / 4) for the walk, a
            # share between a quarter and three quarters for the volume.
            left_walk = node_walk / 2 + math.sqrt(length) / 2 * z
            left_lots = int(node_lots * (0.25 + 0.5 * u))
            if n >= start + half:
                walk, lots = walk + left_walk, lots + left_lots
                node_walk, node_lots = node_walk - left_walk, node_lots - left_lots
                start, index = start + half, 2 * index + 1
            else:
                node_walk, node_lots, index = left_walk, left_lots, 2 * index
            length, level = half, level + 1


def _exp(x: float) -> Decimal:
    return Decimal(math.exp(x))


class SimulatedFeed:
    """A `QuoteProvider`: the `SimulatedMarket`'s quotes at each tick of the clock."""

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
        self.market = SimulatedMarket(
            instruments, seed=seed, tick_interval_seconds=tick_interval_seconds, settings=settings
        )

    @property
    def symbols(self) -> Sequence[str]:
        return self.market.symbols

    def snapshot(self) -> Sequence[Quote]:
        return self.market.quotes(self.market.tick_at(self._now()))

    async def run(self, sink: QuoteSink) -> None:
        tick = self.market.tick_at(self._now())
        while True:
            tick = self.market.next_tick(tick)
            await asyncio.sleep(max(0.0, (tick.time - self._now()).total_seconds()))
            # A stalled loop skips the ticks it missed rather than bursting to catch up.
            tick = max(tick, self.market.tick_at(self._now()))
            sink(self.market.quotes(tick))

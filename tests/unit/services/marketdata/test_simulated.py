"""The simulated feed: a seeded random walk on the clock's ticks, deterministic under a fixed
seed and the same in every process."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.marketdata import INSTRUMENTS, Quote, SimulatedFeed, SimulatedMarket, WalkSettings
from services.marketdata.simulated import to_tick
from tests.conftest import eventually
from tests.unit.services.marketdata.conftest import FAST_TICK_SECONDS, instrument

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)


def _prices(quotes: Sequence[Quote]) -> list[tuple[object, ...]]:
    fields = ("symbol", "sequence", "bid_price", "bid_size", "ask_price", "ask_size")
    fields += ("last_price", "volume", "previous_close", "quote_time")
    return [tuple(getattr(q, name) for name in fields) for q in quotes]


def _path(market: SimulatedMarket, start: datetime, steps: int) -> list[list[tuple[object, ...]]]:
    tick = market.tick_at(start)
    path = []
    for _ in range(steps):
        path.append(_prices(market.quotes(tick)))
        tick = market.next_tick(tick)
    return path


def test_the_same_seed_gives_the_same_path() -> None:
    first = SimulatedMarket(INSTRUMENTS, seed=7)
    second = SimulatedMarket(INSTRUMENTS, seed=7)
    assert _path(first, T0, 200) == _path(second, T0, 200)


def test_another_seed_gives_another_path() -> None:
    first = _path(SimulatedMarket(INSTRUMENTS, seed=7), T0, 50)
    assert first != _path(SimulatedMarket(INSTRUMENTS, seed=8), T0, 50)


def test_a_quote_depends_on_its_tick_not_on_what_was_asked_before() -> None:
    walked = SimulatedMarket(INSTRUMENTS, seed=3)
    path = _path(walked, T0, 300)
    fresh = SimulatedMarket(INSTRUMENTS, seed=3)  # as a process started later would be
    later = walked.tick_at(T0 + timedelta(seconds=299))
    assert _prices(fresh.quotes(later)) == path[-1]
    assert _prices(fresh.quotes(fresh.tick_at(T0))) == path[0]


def test_ticks_follow_the_clock_from_midnight_utc() -> None:
    market = SimulatedMarket(INSTRUMENTS[:1], seed=1, tick_interval_seconds=0.25)
    tick = market.tick_at(T0 + timedelta(milliseconds=610))
    assert tick.time == T0 + timedelta(milliseconds=500)
    assert tick.of_day == (14 * 3600 + 30 * 60) * 4 + 2
    assert market.next_tick(tick).time == T0 + timedelta(milliseconds=750)
    midnight = datetime(2026, 1, 3, tzinfo=UTC)
    last = market.tick_at(midnight - timedelta(microseconds=1))
    first = market.next_tick(last)
    assert (first.day, first.of_day, first.time) == (midnight.date(), 0, midnight)
    (closing,) = market.quotes(last)
    (opening,) = market.quotes(first)
    assert opening.volume == 0 < closing.volume  # volume starts the day at zero
    assert opening.last_price == opening.previous_close  # the day opens at its previous close


def test_prices_stay_on_the_tick_grid_with_a_spread_around_the_last_price() -> None:
    coarse = instrument("COARSE", "20.00", tick="0.05")
    fine = instrument("FINE", "3.0000", tick="0.0001")
    market = SimulatedMarket(
        [coarse, fine, *INSTRUMENTS[:5]], seed=1, settings=WalkSettings(volatility=0.5)
    )
    ticks = {"COARSE": Decimal("0.05"), "FINE": Decimal("0.0001")}
    for batch in _path(market, T0, 300):
        for symbol, _, bid, bid_size, ask, ask_size, last, *_ in batch:
            tick = ticks.get(str(symbol), Decimal("0.01"))
            for price in (bid, ask, last):
                assert isinstance(price, Decimal)
                assert price >= tick and price % tick == 0, (symbol, price)
            assert bid < ask and bid <= last <= ask  # type: ignore[operator]
            assert bid_size > 0 and ask_size > 0  # type: ignore[operator]


def test_volume_never_falls_within_a_day_and_change_is_against_the_previous_close() -> None:
    market = SimulatedMarket(INSTRUMENTS[:3], seed=3)
    tick = market.tick_at(T0)
    previous = {q.symbol: q for q in market.quotes(tick)}
    for _ in range(500):
        tick = market.next_tick(tick)
        for q in market.quotes(tick):
            assert q.sequence == tick.of_day
            assert q.volume >= previous[q.symbol].volume
            assert q.previous_close == previous[q.symbol].previous_close
            assert q.change == q.last_price - q.previous_close
            expected = (q.change * 100 / q.previous_close).quantize(Decimal("0.01"))
            assert q.change_percent == expected
            previous[q.symbol] = q


def test_the_walk_moves_with_the_configured_daily_volatility() -> None:
    # Per-tick log returns of a fine-ticked price: their spread scales to the daily figure.
    cheap_ticks = instrument("FINE", "1000.0000", tick="0.0001")
    market = SimulatedMarket([cheap_ticks], seed=9, settings=WalkSettings(volatility=0.02))
    tick = market.tick_at(T0)
    prices = []
    for _ in range(3000):
        prices.append(float(market.quotes(tick)[0].last_price))
        tick = market.next_tick(tick)
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    daily = statistics.stdev(returns) * math.sqrt(86_400)
    assert 0.015 < daily < 0.025
    assert abs(statistics.mean(returns)) < 3 * statistics.stdev(returns) / math.sqrt(3000) + 1e-9


def test_to_tick_rounds_half_even_and_never_below_one_tick() -> None:
    assert to_tick(Decimal("10.025"), Decimal("0.05")) == Decimal("10.00")
    assert to_tick(Decimal("10.076"), Decimal("0.05")) == Decimal("10.10")
    assert to_tick(Decimal("0.001"), Decimal("0.01")) == Decimal("0.01")


@pytest.mark.parametrize(
    "settings",
    [{"volatility": 0}, {"volatility": 1.5}, {"spread_bps": 0}, {"max_size_lots": 0}],
)
def test_walk_settings_refuse_nonsense(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        WalkSettings(**settings)  # type: ignore[arg-type]


async def _run_feed(seed: int, ticks: int) -> dict[int, list[tuple[object, ...]]]:
    """What a running feed delivers, by tick of the day."""
    feed = SimulatedFeed(INSTRUMENTS[:4], seed=seed, tick_interval_seconds=FAST_TICK_SECONDS)
    received: dict[int, list[tuple[object, ...]]] = {}

    def sink(quotes: Sequence[Quote]) -> None:
        received[quotes[0].sequence] = _prices(quotes)

    task = asyncio.create_task(feed.run(sink))
    try:
        await eventually(lambda: asyncio.sleep(0, len(received) >= ticks), what=f"{ticks} ticks")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return received


async def test_feeds_with_the_same_seed_deliver_the_same_quotes_for_the_same_ticks() -> None:
    early = asyncio.create_task(_run_feed(11, 30))
    await asyncio.sleep(FAST_TICK_SECONDS * 5)  # the second one starts ticks later
    late = await _run_feed(11, 20)
    first = await early
    # Two feeds running side by side quote the same prices whenever they hit the same tick.
    # (How many ticks they share depends on the machine: a stalled loop skips ticks.)
    common = set(first) & set(late)
    assert common
    for tick in common:
        assert first[tick] == late[tick]
    for received in (first, late):
        ticks = list(received)
        assert ticks == sorted(set(ticks))  # in order, never twice


def test_a_feed_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="tick_interval_seconds"):
        SimulatedFeed(INSTRUMENTS, seed=1, tick_interval_seconds=0)

"""The simulated feed: a seeded random walk on ticks, deterministic under a fixed seed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.marketdata import INSTRUMENTS, Quote, SimulatedFeed, SimulatedMarket, WalkSettings
from services.marketdata.simulated import to_tick
from tests.conftest import eventually
from tests.unit.services.marketdata.conftest import FAST_TICK_SECONDS, instrument

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)


def _prices(quotes: Sequence[Quote]) -> list[tuple[object, ...]]:
    """Everything of each quote but its timestamp."""
    return [
        (
            q.symbol,
            q.sequence,
            q.bid_price,
            q.bid_size,
            q.ask_price,
            q.ask_size,
            q.last_price,
            q.volume,
        )
        for q in quotes
    ]


def _walk(seed: int, steps: int, **settings: object) -> list[list[tuple[object, ...]]]:
    market = SimulatedMarket(INSTRUMENTS, seed=seed, settings=WalkSettings(**settings), start=T0)  # type: ignore[arg-type]
    return [_prices(market.snapshot())] + [_prices(market.step(T0)) for _ in range(steps)]


def test_the_same_seed_gives_the_same_path() -> None:
    assert _walk(7, 200) == _walk(7, 200)


def test_another_seed_gives_another_path() -> None:
    assert _walk(7, 50)[1:] != _walk(8, 50)[1:]


def test_prices_stay_on_the_tick_grid_with_a_spread_around_the_last_price() -> None:
    coarse = instrument("COARSE", "20.00", tick="0.05")
    fine = instrument("FINE", "3.0000", tick="0.0001")
    market = SimulatedMarket(
        [coarse, fine, *INSTRUMENTS[:5]], seed=1, settings=WalkSettings(volatility=0.02)
    )
    ticks = {"COARSE": Decimal("0.05"), "FINE": Decimal("0.0001")}
    for _ in range(300):
        for q in market.step():
            tick = ticks.get(q.symbol, Decimal("0.01"))
            for price in (q.bid_price, q.ask_price, q.last_price):
                assert price >= tick and price % tick == 0, (q.symbol, price)
            assert q.bid_price < q.ask_price
            assert q.bid_price <= q.last_price <= q.ask_price
            assert q.bid_size > 0 and q.ask_size > 0


def test_sequence_volume_and_change_move_as_a_day_does() -> None:
    market = SimulatedMarket(INSTRUMENTS[:3], seed=3, start=T0)
    first = {q.symbol: q for q in market.snapshot()}
    assert all(q.sequence == 0 and q.volume == 0 for q in first.values())
    previous = first
    for step in range(1, 50):
        now = {q.symbol: q for q in market.step()}
        for symbol, q in now.items():
            assert q.sequence == step
            assert q.volume >= previous[symbol].volume
            assert q.previous_close == first[symbol].previous_close
            assert q.change == q.last_price - q.previous_close
            expected = (q.change * 100 / q.previous_close).quantize(Decimal("0.01"))
            assert q.change_percent == expected
        previous = now


def test_to_tick_rounds_half_even_and_never_below_one_tick() -> None:
    assert to_tick(Decimal("10.025"), Decimal("0.05")) == Decimal("10.00")
    assert to_tick(Decimal("10.076"), Decimal("0.05")) == Decimal("10.10")
    assert to_tick(Decimal("0.001"), Decimal("0.01")) == Decimal("0.01")


@pytest.mark.parametrize(
    "settings",
    [{"volatility": 0}, {"volatility": 0.5}, {"spread_bps": 0}, {"max_size_lots": 0}],
)
def test_walk_settings_refuse_nonsense(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        WalkSettings(**settings)  # type: ignore[arg-type]


async def _run_feed(seed: int, batches: int) -> list[list[tuple[object, ...]]]:
    feed = SimulatedFeed(INSTRUMENTS[:4], seed=seed, tick_interval_seconds=FAST_TICK_SECONDS)
    received: list[list[tuple[object, ...]]] = [_prices(feed.snapshot())]
    task = asyncio.create_task(feed.run(lambda quotes: received.append(_prices(quotes))))
    try:
        await eventually(lambda: asyncio.sleep(0, len(received) > batches), what=f"{batches} ticks")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return received[: batches + 1]


async def test_two_running_feeds_with_the_same_seed_tick_identically() -> None:
    first, second = await asyncio.gather(_run_feed(11, 20), _run_feed(11, 20))
    assert first == second
    assert len({tuple(batch) for batch in first}) == len(first)  # and the prices moved


def test_a_feed_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="tick_interval_seconds"):
        SimulatedFeed(INSTRUMENTS, seed=1, tick_interval_seconds=0)

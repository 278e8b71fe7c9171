"""The quote board: one feed shared by every subscriber, latest-wins buffers, clean exits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
import pytest_asyncio

from mesh.errors import NotFound, ResourceExhausted, Unavailable
from services.marketdata import INSTRUMENTS, Quote, QuoteBoard, SimulatedFeed
from tests.conftest import eventually
from tests.unit.services.marketdata.conftest import FAST_TICK_SECONDS, ManualProvider

SYMBOLS = ("AAA", "BBB", "CCC")


@pytest.fixture
def provider() -> ManualProvider:
    return ManualProvider(SYMBOLS)


@pytest_asyncio.fixture
async def board(provider: ManualProvider) -> AsyncIterator[QuoteBoard]:
    async with QuoteBoard(provider, max_subscribers=50, restart_delay_seconds=0.01) as board:
        await asyncio.wait_for(provider.running.wait(), 5)
        yield board


def _sequences(quotes: Sequence[Quote]) -> list[tuple[str, int]]:
    return [(q.symbol, q.sequence) for q in quotes]


async def test_a_subscription_starts_with_the_current_quotes_then_gets_updates(
    board: QuoteBoard, provider: ManualProvider
) -> None:
    provider.push("AAA")
    with board.subscribe(["BBB", "AAA"]) as subscription:
        assert _sequences(await subscription.next_batch()) == [("BBB", 0), ("AAA", 1)]
        provider.push("AAA", "CCC")
        assert _sequences(await subscription.next_batch()) == [("AAA", 2)]


async def test_latest_returns_quotes_in_order_and_names_unknown_symbols(
    board: QuoteBoard, provider: ManualProvider
) -> None:
    provider.push("CCC")
    assert _sequences(board.latest(["CCC", "AAA"])) == [("CCC", 1), ("AAA", 0)]
    with pytest.raises(NotFound) as raised:
        board.latest(["AAA", "XXX", "YYY"])
    assert raised.value.metadata == {"symbols": "XXX,YYY"}


async def test_a_reader_that_never_reads_holds_one_quote_per_symbol_and_slows_no_one(
    board: QuoteBoard, provider: ManualProvider
) -> None:
    with board.subscribe(SYMBOLS) as stalled, board.subscribe(["AAA"]) as reader:
        assert len(await reader.next_batch()) == 1
        for tick in range(1, 1001):
            provider.push()
            # The reader sees every tick although the other one never reads.
            assert _sequences(await reader.next_batch()) == [("AAA", tick)]
        assert stalled.pending == len(SYMBOLS)  # bounded: one per symbol...
        assert _sequences(await stalled.next_batch()) == [(s, 1000) for s in SYMBOLS]  # ...latest
        assert stalled.replaced == 1000 * len(SYMBOLS)


async def test_leaving_removes_the_subscription_at_once(
    board: QuoteBoard, provider: ManualProvider
) -> None:
    with board.subscribe(SYMBOLS) as subscription:
        assert board.subscriber_count == 1
    assert board.subscriber_count == 0 and subscription.closed
    provider.push()
    assert subscription.pending == len(SYMBOLS)  # what it had, nothing since
    assert subscription.replaced == 0


async def test_a_reader_cancelled_while_waiting_leaves_cleanly(
    board: QuoteBoard, provider: ManualProvider
) -> None:
    async def read_forever() -> None:
        with board.subscribe(["AAA"]) as subscription:
            while True:
                await subscription.next_batch()

    readers = [asyncio.create_task(read_forever()) for _ in range(40)]
    await eventually(lambda: asyncio.sleep(0, board.subscriber_count == 40), what="40 readers")
    provider.push()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    assert board.subscriber_count == 0
    with board.subscribe(["AAA"]) as subscription:
        assert _sequences(await subscription.next_batch()) == [("AAA", 1)]


async def test_subscribers_are_capped(board: QuoteBoard) -> None:
    subscriptions = [board.subscribe(["AAA"]) for _ in range(50)]
    with pytest.raises(ResourceExhausted):
        board.subscribe(["AAA"])
    subscriptions.pop().close()
    board.subscribe(["AAA"]).close()
    for subscription in subscriptions:
        subscription.close()


async def test_unknown_symbols_cannot_be_subscribed(board: QuoteBoard) -> None:
    with pytest.raises(NotFound):
        board.subscribe(["AAA", "NOPE"])
    assert board.subscriber_count == 0


async def test_stopping_the_board_ends_every_subscription(provider: ManualProvider) -> None:
    board = QuoteBoard(provider)
    await board.start()
    subscription = board.subscribe(["AAA"])
    await subscription.next_batch()
    waiting = asyncio.create_task(subscription.next_batch())
    await board.stop()
    with pytest.raises(Unavailable):
        await waiting
    with pytest.raises(Unavailable):
        board.subscribe(["AAA"])
    await board.stop()  # twice is fine
    assert not board.running


async def test_a_failing_listener_does_not_stop_the_feed(
    board: QuoteBoard, provider: ManualProvider
) -> None:
    seen: list[int] = []

    def broken(quotes: Sequence[Quote]) -> None:
        raise RuntimeError("listener bug")

    board.add_listener(broken)
    board.add_listener(lambda quotes: seen.append(len(quotes)))
    with board.subscribe(["AAA"]) as subscription:
        await subscription.next_batch()
        provider.push()
        provider.push()
        assert _sequences(await subscription.next_batch()) == [("AAA", 2)]
    assert seen == [3, 3]


class FailingProvider(ManualProvider):
    """Fails on its first two runs, as a real feed losing its connection would."""

    async def run(self, sink: object) -> None:
        if self.runs < 2:
            self.runs += 1
            raise RuntimeError("feed connection lost")
        await super().run(sink)  # type: ignore[arg-type]


async def test_a_failing_provider_is_run_again() -> None:
    provider = FailingProvider(SYMBOLS)
    async with QuoteBoard(provider, restart_delay_seconds=0.01) as board:
        await asyncio.wait_for(provider.running.wait(), 5)
        assert provider.runs == 3
        provider.push("AAA")
        assert _sequences(board.latest(["AAA"])) == [("AAA", 1)]


async def test_every_subscriber_shares_the_one_simulated_feed() -> None:
    feed = SimulatedFeed(INSTRUMENTS[:3], seed=5, tick_interval_seconds=FAST_TICK_SECONDS)
    symbol = feed.symbols[0]
    async with QuoteBoard(feed) as board:
        subscriptions = [board.subscribe([symbol]) for _ in range(20)]
        seen: list[list[Quote]] = [[] for _ in subscriptions]

        async def read(index: int) -> None:
            while len(seen[index]) < 10:
                seen[index].extend(await subscriptions[index].next_batch())

        await asyncio.wait_for(asyncio.gather(*(read(i) for i in range(20))), 30)
        for subscription in subscriptions:
            subscription.close()
    # One feed: whichever quote of a given sequence two readers saw, it is the same quote.
    by_sequence: dict[int, Quote] = {}
    for quotes in seen:
        for q in quotes:
            assert by_sequence.setdefault(q.sequence, q) == q


class LateProvider(ManualProvider):
    """Serves CCC but has no quote of it until the first push."""

    def snapshot(self) -> Sequence[Quote]:
        return [q for q in super().snapshot() if q.symbol != "CCC"]


async def test_a_symbol_not_quoted_yet_is_unavailable_and_followed_until_it_is() -> None:
    provider = LateProvider(SYMBOLS)
    async with QuoteBoard(provider) as board:
        await asyncio.wait_for(provider.running.wait(), 5)
        with pytest.raises(Unavailable) as raised:
            board.latest(["AAA", "CCC"])
        assert raised.value.metadata == {"symbols": "CCC"}
        with board.subscribe(["CCC", "AAA"]) as subscription:
            assert _sequences(await subscription.next_batch()) == [("AAA", 0)]
            provider.push("CCC")
            assert _sequences(await subscription.next_batch()) == [("CCC", 1)]
        assert _sequences(board.latest(["CCC"])) == [("CCC", 1)]

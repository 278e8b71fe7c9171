"""The instrument universe: real tickers as data, lookup, ranked and paged search."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from mesh.errors import InvalidArgument, NotFound
from services.marketdata import INSTRUMENTS, AssetClass, Universe
from services.marketdata.instruments import DEFAULT_PAGE_SIZE
from tests.unit.services.marketdata.conftest import instrument

SYMBOL = re.compile(r"^[A-Z][A-Z0-9.-]{0,11}$")  # the contract's symbol rule


@pytest.fixture
def universe() -> Universe:
    return Universe(INSTRUMENTS)


def test_the_universe_holds_about_fifty_well_formed_instruments(universe: Universe) -> None:
    assert 45 <= len(universe) <= 70
    for item in universe.instruments:
        assert SYMBOL.match(item.symbol), item.symbol
        assert item.name and item.exchange in {"XNAS", "XNYS", "ARCX"}
        assert item.currency == "USD"
        assert item.tick_size > 0 and item.reference_price % item.tick_size == 0
    assert {"AAPL", "MSFT", "BRK.B", "SPY"} <= set(universe.symbols)
    assert universe.get("SPY").asset_class is AssetClass.ETF
    assert not universe.get("BRK.A").tradable
    assert universe.get("AAPL").tradable


def test_get_answers_not_found_naming_the_symbol(universe: Universe) -> None:
    assert universe.get("AAPL").name == "Apple Inc."
    with pytest.raises(NotFound) as raised:
        universe.get("ZZZZ")
    assert "ZZZZ" in raised.value.message
    assert raised.value.reason == "INSTRUMENT_NOT_FOUND"
    assert raised.value.metadata == {"symbols": "ZZZZ"}


def test_require_names_every_unknown_symbol_at_once(universe: Universe) -> None:
    assert universe.require(["MSFT", "AAPL"]) == ("MSFT", "AAPL")
    with pytest.raises(NotFound) as raised:
        universe.require(["AAPL", "NOPE", "ZZZZ"])
    assert raised.value.metadata == {"symbols": "NOPE,ZZZZ"}
    assert "NOPE" in raised.value.message and "ZZZZ" in raised.value.message


@pytest.mark.parametrize(
    ("symbols", "field"),
    [([], "symbols"), (["AAPL", ""], "symbols[1]"), (["AAPL", "MSFT", "AAPL"], "symbols[2]")],
)
def test_require_rejects_empty_and_repeated_symbols(
    universe: Universe, symbols: list[str], field: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        universe.require(symbols)
    assert [v.field for v in raised.value.violations] == [field]


def test_search_ranks_exact_symbol_then_prefix_then_name(universe: Universe) -> None:
    found = [i.symbol for i in universe.search("ma", page_size=100).instruments]
    assert found[0] == "MA"  # the exact symbol
    # Then a word of the name starting with the text (Amazon, Mastercard, Macdonald's...)
    # before names that merely contain it (Walmart, Shopify's "Inc." does not).
    assert found.index("AMZN") < found.index("WMT")
    assert "SHOP" not in found
    found = [i.symbol for i in universe.search("m", page_size=100).instruments]
    prefixed = sorted(s for s in universe.symbols if s.startswith("M"))
    assert found[: len(prefixed)] == prefixed  # symbol prefixes first, ties by symbol


def test_search_is_case_insensitive_and_finds_names(universe: Universe) -> None:
    assert [i.symbol for i in universe.search("APPLE").instruments] == ["AAPL"]
    assert [i.symbol for i in universe.search("aapl").instruments] == ["AAPL"]
    berkshire = {i.symbol for i in universe.search("berkshire").instruments}
    assert berkshire == {"BRK.A", "BRK.B"}
    assert universe.search("no such thing").instruments == ()


def test_search_pages_through_every_match_once(universe: Universe) -> None:
    everything = [i.symbol for i in universe.search("i", page_size=1000).instruments]
    assert len(everything) > DEFAULT_PAGE_SIZE
    first = universe.search("i")
    assert len(first.instruments) == DEFAULT_PAGE_SIZE and first.next_page_token
    paged: list[str] = []
    token = ""
    while True:
        page = universe.search("i", page_size=7, page_token=token)
        paged += [i.symbol for i in page.instruments]
        token = page.next_page_token
        if not token:
            break
    assert paged == everything


@pytest.mark.parametrize("token", ["garbage!", "eyJ4IjoxfQ", "e30"])
def test_a_page_token_not_issued_here_is_invalid(universe: Universe, token: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        universe.search("a", page_token=token)
    assert [v.field for v in raised.value.violations] == ["page_token"]


def test_a_page_token_of_another_query_is_invalid(universe: Universe) -> None:
    token = universe.search("a", page_size=1).next_page_token
    with pytest.raises(InvalidArgument) as raised:
        universe.search("b", page_token=token)
    assert "different query" in raised.value.message


@pytest.mark.parametrize(
    ("query", "size", "field"),
    [("  ", 0, "query"), ("a", -1, "page_size"), ("a", 1001, "page_size")],
)
def test_search_rejects_blank_queries_and_bad_page_sizes(
    universe: Universe, query: str, size: int, field: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        universe.search(query, page_size=size)
    assert [v.field for v in raised.value.violations] == [field]


def test_a_universe_refuses_duplicates_and_bad_instruments() -> None:
    with pytest.raises(ValueError, match="twice"):
        Universe([instrument("AAA"), instrument("AAA")])
    with pytest.raises(ValueError, match="empty"):
        Universe([])
    with pytest.raises(ValueError, match="multiple of tick_size"):
        instrument("AAA", "10.03", tick="0.05")
    with pytest.raises(ValueError, match="tick_size"):
        instrument("AAA", tick="0")


def test_subset_narrows_and_checks(universe: Universe) -> None:
    small = universe.subset(["AAPL", "MSFT"])
    assert small.symbols == ("AAPL", "MSFT")
    assert small.get("AAPL").reference_price == Decimal("190.00")
    with pytest.raises(NotFound):
        universe.subset(["AAPL", "NOPE"])

"""The room table read from the compiled contracts: room names parsed into the method and
request they open, claims checked, bad names refused naming `room`."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from google.rpc import error_details_pb2

from edge.contracts import MethodContract, compiled_contracts
from edge.errors import EdgeError
from edge.realtime import RoomTable, RoomTableError
from mesh.context import Principal

ME = Principal("u-1", "s-1", frozenset({"viewer"}), "token")


def _violation(error: EdgeError) -> error_details_pb2.BadRequest.FieldViolation:
    for item in error.status.details:
        if item.TypeName() == error_details_pb2.BadRequest.DESCRIPTOR.full_name:
            found = error_details_pb2.BadRequest()
            item.Unpack(found)
            return found.field_violations[0]
    raise AssertionError("no BadRequest detail")


def _method(name: str) -> MethodContract:
    found = next((m for m in compiled_contracts() if m.descriptor.name == name), None)
    assert found is not None
    return found


def test_every_room_option_of_a_reachable_stream_is_in_the_table(table: RoomTable) -> None:
    assert {p.pattern: p.method.descriptor.name for p in table.patterns} == {
        "notifications:{user_id}": "StreamNotifications",
        "orders:{user_id}": "StreamOrderUpdates",
        "portfolio:{portfolio_id}": "WatchPortfolio",
        "quotes:{symbols}": "StreamQuotes",
    }
    claim_bound = {p.pattern for p in table.patterns if p.claim_bound}
    assert claim_bound == {"notifications:{user_id}", "orders:{user_id}"}


def test_a_repeated_field_gets_the_one_value_of_the_room(table: RoomTable) -> None:
    target = table.resolve("quotes:AAPL", ME)
    assert target.method.descriptor.name == "StreamQuotes"
    assert list(target.request.symbols) == ["AAPL"]  # type: ignore[attr-defined]
    assert target.room == "quotes:AAPL"


def test_a_field_variable_fills_the_request(table: RoomTable) -> None:
    target = table.resolve("portfolio:0b8f3c1e-2a6d-4f3e-9f0a-1c2d3e4f5a6b", ME)
    assert target.request.portfolio_id == "0b8f3c1e-2a6d-4f3e-9f0a-1c2d3e4f5a6b"  # type: ignore[attr-defined]


def test_a_claim_variable_is_the_callers_own_and_not_in_the_request(table: RoomTable) -> None:
    target = table.resolve("orders:u-1", ME)
    assert target.method.descriptor.name == "StreamOrderUpdates"
    assert target.request.ListFields() == []


@pytest.mark.parametrize("room", ["orders:u-2", "notifications:someone"])
def test_a_room_of_another_user_is_refused(table: RoomTable, room: str) -> None:
    with pytest.raises(EdgeError) as refused:
        table.resolve(room, ME)
    assert refused.value.status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert "another user_id" in refused.value.status.message


@pytest.mark.parametrize(
    ("room", "says"),
    [
        ("trades:u-1", "unknown room 'trades:u-1'"),
        ("quotes:", "does not match 'quotes:{symbols}'"),
        ("quotes:AAPL:MSFT", "does not match"),
        ("quotes:AA PL", "does not match"),
        ("", "non-empty string"),
        (7, "non-empty string"),
        (None, "non-empty string"),
        ("quotes:" + "A" * 300, "at most 256"),
    ],
)
def test_a_malformed_room_is_refused_naming_the_field(
    table: RoomTable, room: object, says: str
) -> None:
    with pytest.raises(EdgeError) as refused:
        table.resolve(room, ME)
    assert refused.value.status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert says in refused.value.status.message
    assert _violation(refused.value).field == "room"


def test_unreachable_and_unannotated_streams_have_no_room() -> None:
    quotes = _method("StreamQuotes")
    hidden = dataclasses.replace(quotes, access=None)
    assert RoomTable.build([hidden]).patterns == ()
    assert RoomTable.build([dataclasses.replace(quotes, room="")]).patterns == ()
    assert RoomTable.build([_method("GetQuote")]).patterns == ()


def test_a_variable_that_is_neither_field_nor_claim_is_refused_at_build() -> None:
    quotes = dataclasses.replace(_method("StreamQuotes"), room="quotes:{ticker}")
    with pytest.raises(RoomTableError, match=r"\{ticker\} is neither a field"):
        RoomTable.build([quotes])


def test_two_rooms_with_one_prefix_are_refused_naming_both() -> None:
    quotes = _method("StreamQuotes")
    orders = dataclasses.replace(_method("StreamOrderUpdates"), room="quotes:{user_id}")
    with pytest.raises(RoomTableError) as refused:
        RoomTable.build([quotes, orders])
    assert "StreamQuotes" in str(refused.value)
    assert "StreamOrderUpdates" in str(refused.value)


def test_a_pattern_formats_back_to_the_room_it_parses(table: RoomTable) -> None:
    for pattern in table.patterns:
        room = pattern.format({b.name: "x-1" for b in pattern.bindings})
        assert pattern.regex.fullmatch(room)
        assert table.pattern_for(room) is pattern

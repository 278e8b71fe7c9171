"""Server-streaming RPCs name the Socket.IO room they feed; nothing else has a room."""

from __future__ import annotations

import re

from tests.unit.contracts import catalog

EXPECTED_ROOMS = {
    "trademesh.marketdata.v1.MarketDataService.StreamQuotes": "quotes:{symbols}",
    "trademesh.trading.v1.TradingService.StreamOrderUpdates": "orders:{user_id}",
    "trademesh.portfolio.v1.PortfolioService.WatchPortfolio": "portfolio:{portfolio_id}",
    "trademesh.notification.v1.NotificationService.StreamNotifications": (
        "notifications:{user_id}"
    ),
}
# Placeholders a room may take from the caller rather than the request.
CALLER_CLAIMS = {"user_id"}


def test_streaming_rpcs_have_their_rooms() -> None:
    rooms = {rpc.name: rpc.room for rpc in catalog.rpcs() if rpc.room}
    assert rooms == EXPECTED_ROOMS
    streaming = {rpc.name for rpc in catalog.rpcs() if rpc.streaming}
    assert streaming == set(EXPECTED_ROOMS)


def test_streams_are_server_streams() -> None:
    for rpc in catalog.rpcs():
        assert not rpc.method.client_streaming, rpc.name


def test_room_placeholders_resolve() -> None:
    for rpc in catalog.rpcs():
        for placeholder in re.findall(r"\{([^}]+)\}", rpc.room):
            fields = rpc.method.input_type.fields_by_name
            assert placeholder in fields or placeholder in CALLER_CLAIMS, (rpc.name, placeholder)

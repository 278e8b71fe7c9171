"""Comments compiled from the checkout's proto sources describe the documents."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.contracts import compiled_contracts
from edge.docs.openapi import openapi_document
from edge.docs.sources import source_comments
from edge.rest.routes import RouteTable
from mesh.codegen import Layout


@pytest.fixture(scope="module")
def comments() -> dict[str, str]:
    return source_comments()


def test_the_checkout_comments_every_kind_of_element(comments: dict[str, str]) -> None:
    assert comments["trademesh.trading.v1.TradingService.PlaceOrder"].startswith(
        "PlaceOrder accepts a market or limit order"
    )
    assert comments["trademesh.trading.v1.Order.order_id"] == "Server-assigned id (UUID)."
    assert comments["trademesh.trading.v1.OrderStatus.ORDER_STATUS_OPEN"] == (
        "Working: waiting for executions."
    )
    assert comments["trademesh.trading.v1.TradingService"].startswith("TradingService accepts")


def test_the_openapi_document_carries_them(comments: dict[str, str]) -> None:
    routes = RouteTable.build(compiled_contracts()).routes
    document = openapi_document(routes, {"title": "t", "version": "1"}, comments)
    place = document["paths"]["/api/v1/orders"]["post"]
    assert place["summary"] == (
        "PlaceOrder accepts a market or limit order for one of the caller's portfolios."
    )
    order = document["components"]["schemas"]["trademesh.trading.v1.Order"]
    assert order["properties"]["orderId"]["description"] == "Server-assigned id (UUID)."


def test_a_checkout_that_does_not_compile_gives_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "buf.yaml").write_text("version: v2\n")
    (tmp_path / "proto/broken/v1").mkdir(parents=True)
    (tmp_path / "proto/broken/v1/broken.proto").write_text('syntax = "proto3";\nmessage {\n')
    with caplog.at_level(logging.WARNING, logger="edge.docs.sources"):
        assert source_comments(Layout.at(tmp_path, tmp_path / "build")) == {}
    assert "without descriptions" in caplog.text

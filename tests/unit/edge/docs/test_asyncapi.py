"""The AsyncAPI document of the Socket.IO rooms: valid AsyncAPI 3.0.0, a channel per room
pattern with the stream's messages in the event envelope, subscribe and unsubscribe with their
acknowledgements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from jsonschema import Draft7Validator
from trademesh.marketdata.v1 import marketdata_pb2

from edge.contracts import compiled_contracts
from edge.docs.asyncapi import asyncapi_document
from tests.unit.edge.docs._validate import errors

SCHEMA = json.loads((Path(__file__).parent / "data/asyncapi-3.0.0.schema.json").read_text())
SERVERS = {"edge": {"host": "localhost:8080", "protocol": "ws", "pathname": "/socket.io/"}}
ROOMS = {
    "quotes": ("quotes:{symbols}", "trademesh.marketdata.v1.StreamQuotesResponse"),
    "orders": ("orders:{user_id}", "trademesh.trading.v1.StreamOrderUpdatesResponse"),
    "portfolio": ("portfolio:{portfolio_id}", "trademesh.portfolio.v1.WatchPortfolioResponse"),
    "notifications": (
        "notifications:{user_id}",
        "trademesh.notification.v1.StreamNotificationsResponse",
    ),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(
        compiled_contracts(), {"title": "trademesh", "version": "1.0.0"}, servers=SERVERS
    )


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    found = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in Draft7Validator(SCHEMA).iter_errors(document)
    ]
    assert found == []


def test_the_schema_can_refuse(document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(document))
    broken["operations"]["quotes.receive"]["action"] = "publish"  # AsyncAPI 2's word
    assert not Draft7Validator(SCHEMA).is_valid(broken)


def test_every_reference_resolves_and_operations_use_their_channels_messages(
    document: dict[str, Any],
) -> None:
    for ref in _refs(document):
        _resolve(document, ref)
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel}/messages/"), name
        reply = operation.get("reply")
        if reply is not None:
            for message in reply["messages"]:
                assert message["$ref"].startswith(f"{reply['channel']['$ref']}/messages/")


def test_a_channel_per_room_with_the_streams_payload(document: dict[str, Any]) -> None:
    channels = document["channels"]
    assert set(ROOMS) <= set(channels)
    for name, (address, response) in ROOMS.items():
        channel = channels[name]
        assert channel["address"] == address
        variable = address.split("{")[1].rstrip("}")
        assert set(channel["parameters"]) == {variable}
        event = _resolve(document, channel["messages"]["event"]["$ref"])
        assert event["name"] == "event"
        payload = event["payload"]
        assert payload["required"] == ["room", "seq", "data"]
        assert payload["properties"]["data"] == {"$ref": f"#/components/schemas/{response}"}
        for action in ("receive", "subscribe", "unsubscribe"):
            assert f"{name}.{action}" in document["operations"]
    assert "user_id" in channels["orders"]["parameters"]["user_id"]["description"]
    assert "token" in channels["orders"]["parameters"]["user_id"]["description"]


def _payload_valid(document: dict[str, Any], message: str, instance: Any) -> bool:
    schema = {
        **document["components"]["messages"][message]["payload"],
        "components": document["components"],
    }
    return Draft7Validator(schema).is_valid(instance)


def test_events_validate_as_the_edge_sends_them(document: dict[str, Any]) -> None:
    update = marketdata_pb2.StreamQuotesResponse()
    update.quote.symbol = "AAPL"
    data = json_format.MessageToDict(update)
    assert data
    assert _payload_valid(document, "quotes.event", {"room": "quotes:AAPL", "seq": 1, "data": data})
    assert not _payload_valid(
        document, "quotes.event", {"room": "orders:x", "seq": 1, "data": data}
    )
    assert not _payload_valid(document, "quotes.event", {"room": "quotes:AAPL", "data": data})
    schemas = document["components"]["schemas"]
    assert errors(schemas, "trademesh.marketdata.v1.StreamQuotesResponse", data) == []


def test_acks_are_ok_or_a_status(document: dict[str, Any]) -> None:
    status = {"code": 7, "message": "not yours", "details": []}
    ok = {"ok": True, "room": "orders:u1", "seq": 3, "resync": False}
    assert _payload_valid(document, "subscribeAck", ok)
    assert _payload_valid(document, "subscribeAck", {"error": status})
    assert not _payload_valid(document, "subscribeAck", {"ok": False})
    assert _payload_valid(document, "subscribe", {"room": "quotes:AAPL", "since": 4})
    assert not _payload_valid(document, "subscribe", {"since": 4})
    left = {"ok": True, "room": "orders:u1", "left": True}
    assert _payload_valid(document, "unsubscribeAck", left)


def test_connections_authenticate_with_a_token(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["token"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "auth" in scheme["description"]
    assert document["servers"]["edge"]["security"] == [
        {"$ref": "#/components/securitySchemes/token"}
    ]

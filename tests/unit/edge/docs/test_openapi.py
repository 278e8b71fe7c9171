"""The OpenAPI document of the compiled contracts: valid OpenAPI 3.1, every route with its
method, success code, parameters, bodies and security, errors as google.rpc.Status."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from trademesh.trading.v1 import trading_pb2

from edge.contracts import compiled_contracts
from edge.docs.openapi import ERROR_RESPONSES, openapi_document
from edge.errors import bad_request, make_status
from edge.rest.routes import Route, RouteTable
from tests.unit.edge.docs._validate import errors

INFO = {"title": "trademesh", "version": "1.0.0"}


@pytest.fixture(scope="module")
def routes() -> tuple[Route, ...]:
    return RouteTable.build(compiled_contracts()).routes


@pytest.fixture(scope="module")
def document(routes: tuple[Route, ...]) -> dict[str, Any]:
    return openapi_document(routes, INFO)


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_a_broken_document_is_refused_by_the_validator(document: dict[str, Any]) -> None:
    # The validator is the test's judge: it must be able to say no.
    broken = {**document, "paths": {"/x": {"get": {"responses": {"200": {"$ref": 1}}}}}}
    with pytest.raises(Exception):  # noqa: B017 - any validation error will do
        validate(broken)


def test_every_route_is_an_operation(document: dict[str, Any], routes: tuple[Route, ...]) -> None:
    ids = set()
    for route in routes:
        operation = _operation(document, route.http_method.lower(), route.template.openapi_path)
        assert operation["x-grpc-method"] == route.method.full_method
        ids.add(operation["operationId"])
    assert len(ids) == len(routes)
    assert "trademesh.trading.v1.TradingService.PlaceOrder" in ids


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("post", "/api/v1/auth/register", "201"),
        ("post", "/api/v1/orders", "202"),
        ("get", "/api/v1/orders/{order_id}", "200"),
    ],
)
def test_success_codes_come_from_the_contract(
    document: dict[str, Any], method: str, path: str, code: str
) -> None:
    responses = _operation(document, method, path)["responses"]
    assert [c for c in responses if c.startswith("2")] == [code]
    assert "application/json" in responses[code]["content"]


def test_a_delete_answers_204_without_content(document: dict[str, Any]) -> None:
    responses = _operation(document, "delete", "/api/v1/users/{user_id}")["responses"]
    assert "204" in responses and "200" not in responses
    assert "content" not in responses["204"]


def test_errors_are_one_status_schema(document: dict[str, Any]) -> None:
    responses = _operation(document, "get", "/api/v1/orders")["responses"]
    for code, (name, _) in ERROR_RESPONSES.items():
        assert responses[str(code)] == {"$ref": f"#/components/responses/{name}"}
        shared = document["components"]["responses"][name]
        schema = shared["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/google.rpc.Status"}
    assert set(ERROR_RESPONSES) == {400, 401, 403, 404, 409, 429, 500, 503, 504}
    status = make_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "symbol: required",
        [bad_request("symbol", "required"), error_details_pb2.ErrorInfo(reason="X")],
    )
    body = json_format.MessageToDict(status)
    assert errors(document["components"]["schemas"], "google.rpc.Status", body) == []
    assert errors(document["components"]["schemas"], "google.rpc.Status", {"code": "x"})


def test_security_follows_the_access_option(document: dict[str, Any]) -> None:
    login = _operation(document, "post", "/api/v1/auth/login")
    assert login["security"] == []
    place = _operation(document, "post", "/api/v1/orders")
    assert place["security"] == [{"bearerAuth": []}]
    assert place["x-roles"] == ["admin", "trader"]
    assert "admin, trader" in place["description"]
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"


def test_list_orders_takes_its_paging_and_filters_from_the_query(
    document: dict[str, Any],
) -> None:
    parameters = _operation(document, "get", "/api/v1/orders")["parameters"]
    by_name = {p["name"]: p for p in parameters}
    assert {p["in"] for p in parameters} == {"query"}
    assert {"page_size", "page_token", "symbol", "statuses", "side"} <= set(by_name)
    # Nested message fields are dotted leaves.
    assert "create_time.start_time" in by_name and "create_time" not in by_name
    assert by_name["statuses"]["schema"]["type"] == "array"
    assert by_name["statuses"]["explode"] is True
    assert by_name["page_size"]["schema"]["maximum"] == 1000


def test_path_variables_are_required_parameters_not_body_fields(
    document: dict[str, Any],
) -> None:
    cancel = _operation(document, "post", "/api/v1/orders/{order_id}/cancel")
    assert [(p["name"], p["in"], p["required"]) for p in cancel["parameters"]] == [
        ("order_id", "path", True)
    ]
    body = cancel["requestBody"]["content"]["application/json"]["schema"]
    assert "orderId" not in body.get("properties", {})


def test_patch_takes_its_body_field_and_an_optional_update_mask(
    document: dict[str, Any],
) -> None:
    update = _operation(document, "patch", "/api/v1/users/{user_id}")
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/trademesh.identity.v1.User"}
    mask = {p["name"]: p for p in update["parameters"]}["update_mask"]
    assert mask["in"] == "query" and not mask.get("required")
    assert "user" not in {p["name"].split(".")[0] for p in update["parameters"][1:]}


def test_a_put_with_a_field_body(document: dict[str, Any]) -> None:
    put = _operation(document, "put", "/api/v1/risk-limits/{user_id}")
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/trademesh.trading.v1.RiskLimits"


def test_a_bytes_response_body_is_a_file(document: dict[str, Any]) -> None:
    export = _operation(document, "get", "/api/v1/portfolios/{portfolio_id}/export")
    assert list(export["responses"]["200"]["content"]) == ["*/*"]


def test_server_streams_offer_sse_and_ndjson(document: dict[str, Any]) -> None:
    stream = _operation(document, "get", "/api/v1/orders/stream")
    content = stream["responses"]["200"]["content"]
    assert set(content) == {"text/event-stream", "application/x-ndjson"}
    schemas = document["components"]["schemas"]
    update = trading_pb2.StreamOrderUpdatesResponse()
    update.order.symbol = "AAPL"
    line = json_format.MessageToDict(update)
    ndjson = {"components": {"schemas": schemas}, **content["application/x-ndjson"]["schema"]}
    assert _valid(ndjson, line)
    assert _valid(ndjson, {"error": {"code": 14, "message": "unavailable"}})


def _valid(schema: dict[str, Any], instance: Any) -> bool:
    return Draft202012Validator(schema).is_valid(instance)


def test_comments_describe_operations_and_tags(routes: tuple[Route, ...]) -> None:
    name = "trademesh.trading.v1.TradingService"
    comments = {
        name: "TradingService accepts orders.",
        f"{name}.PlaceOrder": "PlaceOrder accepts an order. Then more.\n\nDetails.",
    }
    document = openapi_document(routes, INFO, comments)
    place = _operation(document, "post", "/api/v1/orders")
    assert place["summary"] == "PlaceOrder accepts an order."
    assert place["description"].startswith("PlaceOrder accepts an order. Then more.")
    assert {"name": "TradingService", "description": "TradingService accepts orders."} in (
        document["tags"]
    )

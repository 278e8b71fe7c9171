"""Which request fields a binding takes from the path, the query and the body, on a contract
with every kind of field (nested, recursive, repeated, maps, well-known types)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pool

from edge.contracts import MethodContract, compiled_contracts
from edge.docs.openapi import openapi_document
from edge.rest.routes import PathTemplate, Route

INFO = {"title": "sample", "version": "1"}


@pytest.fixture(scope="module")
def contract(sample: descriptor_pool.DescriptorPool) -> MethodContract:
    service = sample.FindServiceByName("sample.v1.SampleService")
    return MethodContract.read("sample", service.methods_by_name["Do"])


def _route(contract: MethodContract, method: str, template: str, body: str = "") -> Route:
    return Route(method, PathTemplate.parse(template), contract, body, "")


def _operation(document: dict[str, Any], method: str = "get") -> dict[str, Any]:
    (path,) = document["paths"].values()
    operation: dict[str, Any] = path[method]
    return operation


def test_query_parameters_are_the_unbound_leaves(contract: MethodContract) -> None:
    document = openapi_document([_route(contract, "GET", "/v1/things/{inner.depth}")], INFO)
    assert list(document["paths"]) == ["/v1/things/{inner.depth}"]
    parameters = _operation(document)["parameters"]
    path = [p["name"] for p in parameters if p["in"] == "path"]
    query = {p["name"]: p for p in parameters if p["in"] == "query"}
    assert path == ["inner.depth"]
    assert {"big", "colour", "tags", "when", "how_long", "mask", "wrapped_big", "left"} <= set(
        query
    )
    # A message that reaches itself is not walked again; a path-bound leaf is not asked for.
    assert not any(name.startswith("right") for name in query)
    assert "inner.depth" not in query
    # Neither maps, repeated messages nor JSON-only well-known types fit in a query string.
    for absent in ("counts", "children", "document", "anything", "packed", "nothing", "list"):
        assert not any(name.split(".")[0] == absent for name in query), absent
    assert query["tags"]["explode"] is True and query["tags"]["schema"]["type"] == "array"


def test_a_star_body_leaves_out_the_path_fields(contract: MethodContract) -> None:
    route = _route(contract, "POST", "/v1/things/{text}", body="*")
    operation = _operation(openapi_document([route], INFO), "post")
    assert [p["name"] for p in operation["parameters"]] == ["text"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "text" not in body["properties"] and "big" in body["properties"]


def test_a_field_body_leaves_the_rest_to_the_query(contract: MethodContract) -> None:
    route = _route(contract, "PUT", "/v1/things/{text}", body="inner")
    operation = _operation(openapi_document([route], INFO), "put")
    body = operation["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/sample.v1.Everything.Inner"
    }
    names = {p["name"] for p in operation["parameters"]}
    assert "big" in names and not any(name.startswith("inner") for name in names)


def test_each_binding_of_one_rpc_is_its_own_operation(contract: MethodContract) -> None:
    routes = [
        _route(contract, "GET", "/v1/things/{text}"),
        _route(contract, "GET", "/v1/other/{text}"),
    ]
    document = openapi_document(routes, INFO)
    ids = [document["paths"][p]["get"]["operationId"] for p in document["paths"]]
    assert ids == ["sample.v1.SampleService.Do", "sample.v1.SampleService.Do_2"]


def test_a_method_without_an_access_rule_asks_for_a_token(contract: MethodContract) -> None:
    operation = _operation(openapi_document([_route(contract, "GET", "/v1/x")], INFO))
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["x-roles"] == []


def test_a_star_body_whose_required_fields_are_all_in_the_path() -> None:
    # CancelOrderRequest requires order_id, and the path carries it.
    cancel = compiled_contracts().find("/trademesh.trading.v1.TradingService/CancelOrder")
    assert cancel is not None
    route = _route(cancel, "POST", "/v1/orders/{order_id}/cancel", body="*")
    body = _operation(openapi_document([route], INFO), "post")["requestBody"]
    assert body["required"] is False
    assert "required" not in body["content"]["application/json"]["schema"]


@pytest.mark.parametrize("info", [{}, {"title": "t"}, {"title": "t", "version": 1}])
def test_an_incomplete_info_is_refused_naming_the_key(info: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"info\.(title|version)"):
        openapi_document([], info)


def test_well_known_messages_are_written_inline(sample: descriptor_pool.DescriptorPool) -> None:
    service = sample.FindServiceByName("sample.v1.SampleService")
    ping = MethodContract.read("sample", service.methods_by_name["Ping"])
    operation = _operation(openapi_document([_route(ping, "POST", "/v1/ping", "*")], INFO), "post")
    empty = {"type": "object", "maxProperties": 0}
    assert operation["requestBody"]["content"]["application/json"]["schema"] == empty
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == empty

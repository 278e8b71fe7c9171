"""Query parameters into request fields: names, nesting, repetition, every scalar and
well-known type, and each refusal naming the parameter as the client wrote it."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from edge.contracts import compiled_contracts
from edge.errors import EdgeError
from edge.rest.query import Query, apply_query, query_fields
from edge.rest.request import build_request
from edge.rest.routes import RouteTable
from tests.unit.edge.rest._contracts import Rpc, rule, table

ROUTES = table(
    Rpc("List", rule("get", "/v1/things")),
    Rpc("Get", rule("get", "/v1/things/{name}/{parent.child.id}")),
    Rpc("Run", rule("post", "/v1/things:run", body="*")),
    Rpc("Put", rule("put", "/v1/things/{name}", body="item")),
)


def query(params: Query, path: str = "/v1/things", method: str = "GET") -> dict[str, Any]:
    message = build_request(ROUTES.match(method, path), params, b"", None)
    return _json(message)


def _json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def refused(params: Query, path: str = "/v1/things", method: str = "GET") -> tuple[str, str]:
    """(field, description) of the 400 the parameters get."""
    with pytest.raises(EdgeError) as caught:
        build_request(ROUTES.match(method, path), params, b"", None)
    assert caught.value.http_status == 400
    for item in caught.value.status.details:
        if item.TypeName() == error_details_pb2.BadRequest.DESCRIPTOR.full_name:
            found = error_details_pb2.BadRequest()
            item.Unpack(found)
            (violation,) = found.field_violations
            assert caught.value.status.message.startswith(violation.field)
            return violation.field, violation.description
    raise AssertionError("no BadRequest detail")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("name", "a")], {"name": "a"}),
        ([("user_id", "u")], {"user_id": "u"}),
        ([("userId", "u")], {"user_id": "u"}),  # JSON name
        ([("otherName", "c")], {"custom": "c"}),  # an explicit json_name
        ([("custom", "c")], {"custom": "c"}),
        ([("page.size", "10")], {"page": {"size": 10}}),
        ([("page.token", "t"), ("page.size", "5")], {"page": {"token": "t", "size": 5}}),
        ([("filter.page.size", "3")], {"filter": {"page": {"size": 3}}}),
        ([("filter.side", "SIDE_SELL")], {"filter": {"side": "SIDE_SELL"}}),
        ([("parent.child.id", "c")], {"parent": {"child": {"id": "c"}}}),
        ([("item.detail.weight", "2")], {"item": {"detail": {"weight": 2}}}),
        ([("symbols", "A"), ("symbols", "B")], {"symbols": ["A", "B"]}),
        ([("symbols", "A,B")], {"symbols": ["A,B"]}),  # repeats only: no comma splitting
        ([("filter.tags", "x"), ("filter.tags", "y")], {"filter": {"tags": ["x", "y"]}}),
        ([("side", "SIDE_BUY")], {"side": "SIDE_BUY"}),
        ([("sides", "SIDE_BUY"), ("sides", "SIDE_SELL")], {"sides": ["SIDE_BUY", "SIDE_SELL"]}),
        ([("flag", "true")], {"flag": True}),
        ([("flag", "1")], {"flag": True}),
        ([("flag", "TRUE")], {"flag": True}),
        ([("flag", "false")], {}),
        ([("flag", "0")], {}),
        ([("count", "-42")], {"count": -42}),
        ([("big", "9007199254740993")], {"big": "9007199254740993"}),  # beyond a double
        ([("ids", "1"), ("ids", "-2")], {"ids": ["1", "-2"]}),
        ([("small", "7")], {"small": 7}),
        ([("ratio", "1.5")], {"ratio": 1.5}),
        ([("ratio", "-2e3")], {"ratio": -2000.0}),
        ([("ratio", "Infinity")], {"ratio": "Infinity"}),
        ([("rough", "0.25")], {"rough": 0.25}),
        ([("blob", "aGk=")], {"blob": "aGk="}),
        ([("since", "2026-01-02T03:04:05Z")], {"since": "2026-01-02T03:04:05Z"}),
        ([("since", "2026-01-02T05:04:05.5+02:00")], {"since": "2026-01-02T03:04:05.500Z"}),
        ([("within", "1.5s")], {"within": "1.500s"}),
        # Paths by proto name (as the contracts' comments write them) or JSON name.
        ([("update_mask", "name,item.display_name")], {"update_mask": "name,item.displayName"}),
        ([("updateMask", "item.displayName")], {"update_mask": "item.displayName"}),
        ([("limit", "5")], {"limit": 5}),
        ([("enabled", "false")], {"enabled": False}),
        ([("label", "x")], {"label": "x"}),
        ([("price", "2.5")], {"price": 2.5}),
        ([("moments", "2026-01-01T00:00:00Z")], {"moments": ["2026-01-01T00:00:00Z"]}),
        ([("left", "l")], {"left": "l"}),
        ([("name", "")], {}),
        ({"name": ["a"], "symbols": ["A", "B"]}, {"name": "a", "symbols": ["A", "B"]}),
        ([], {}),
    ],
)
def test_query_parameters_set_request_fields(params: Query, expected: dict[str, Any]) -> None:
    assert query(params) == expected


def test_the_real_contracts_take_their_list_parameters() -> None:
    routes = RouteTable.build(compiled_contracts())
    message = build_request(
        routes.match("GET", "/api/v1/orders"),
        [
            ("pageSize", "20"),
            ("statuses", "ORDER_STATUS_OPEN"),
            ("statuses", "ORDER_STATUS_FILLED"),
            ("create_time.start_time", "2026-01-01T00:00:00Z"),
        ],
        b"",
        None,
    )
    assert _json(message) == {
        "page_size": 20,
        "statuses": ["ORDER_STATUS_OPEN", "ORDER_STATUS_FILLED"],
        "create_time": {"start_time": "2026-01-01T00:00:00Z"},
    }
    quotes = build_request(
        routes.match("GET", "/api/v1/stocks/quotes"),
        [("symbols", "AAPL"), ("symbols", "MSFT")],
        b"",
        None,
    )
    assert _json(quotes) == {"symbols": ["AAPL", "MSFT"]}


@pytest.mark.parametrize(
    ("params", "field", "why"),
    [
        ([("nope", "1")], "nope", "unknown query parameter"),
        ([("page.nope", "1")], "page.nope", "unknown query parameter"),
        ([("", "1")], "", "without a name"),
        ([("page.", "1")], "page.", "unknown query parameter"),
        ([("page", "1")], "page", "names a message, not a value"),
        ([("item.detail", "x")], "item.detail", "names a message, not a value"),
        ([("document", "{}")], "document", "names a message, not a value"),
        ([("labels", "a")], "labels", "a map cannot be given"),
        ([("item.labels", "a")], "item.labels", "a map cannot be given"),
        ([("pages.size", "1")], "pages.size", "'pages' is repeated"),
        ([("name.length", "1")], "name.length", "'name' has no fields"),
        ([("since.seconds", "1")], "since.seconds", "'since' has no fields"),
        ([("name", "a"), ("name", "b")], "name", "given more than once"),
        ([("page.size", "1"), ("page.size", "2")], "page.size", "given more than once"),
        ([("left", "l"), ("right", "r")], "right", "only one of 'left' and 'right'"),
        ([("user_id", "a"), ("userId", "b")], "userId", "the same field as 'user_id'"),
        ([("Page.size", "1")], "Page.size", "unknown query parameter"),  # names are exact
        (
            [("filter.page.size", "1"), ("filter.page.size", "2")],
            "filter.page.size",
            "more than once",
        ),
        ([("flag", "yes")], "flag", "expected true, false, 1 or 0"),
        ([("enabled", "maybe")], "enabled", "expected true, false, 1 or 0"),
        ([("count", "x")], "count", "expected an integer"),
        ([("count", "1.5")], "count", "expected an integer"),
        ([("count", "1_000")], "count", "expected an integer"),
        ([("count", " 1")], "count", "expected an integer"),
        ([("ids", "1"), ("ids", "x")], "ids", "expected an integer"),
        ([("limit", "x")], "limit", "expected an integer"),
        ([("ratio", "abc")], "ratio", "expected a number"),
        ([("ratio", "nan")], "ratio", "expected a number"),
    ],
)
def test_bad_parameters_are_400_naming_them(params: Query, field: str, why: str) -> None:
    assert refused(params) == (field, _description(refused(params), why))


def _description(found: tuple[str, str], why: str) -> str:
    assert why in found[1], found
    return found[1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([("count", "99999999999")], "count"),  # beyond int32
        ([("small", "-1")], "small"),  # unsigned
        ([("side", "SIDE_SIDEWAYS")], "side"),
        ([("sides", "SIDE_BUY"), ("sides", "NOPE")], "sides"),
        ([("filter.side", "NOPE")], "filter.side"),
        ([("since", "yesterday")], "since"),
        ([("within", "1.5")], "within"),
        ([("moments", "later")], "moments"),
        ([("limit", "99999999999")], "limit"),
    ],
)
def test_values_the_codec_refuses_are_400_naming_the_parameter(params: Query, field: str) -> None:
    assert refused(params)[0] == field


def test_a_valid_parameter_is_not_blamed_for_a_bad_one() -> None:
    assert refused([("name", "a"), ("page.size", "1"), ("side", "NOPE")])[0] == "side"


@pytest.mark.parametrize(
    ("params", "path", "method", "field", "why"),
    [
        ([("name", "x")], "/v1/things/a/b", "GET", "name", "is set by the path"),
        ([("parent.child.id", "x")], "/v1/things/a/b", "GET", "parent.child.id", "by the path"),
        ([("parent.child", "x")], "/v1/things/a/b", "GET", "parent.child", "names a message"),
        ([("item.name", "x")], "/v1/things/a", "PUT", "item.name", "or the body"),
        ([("name", "x")], "/v1/things:run", "POST", "name", "reads the body, not the query"),
        ([("nope", "x")], "/v1/things:run", "POST", "nope", "unknown query parameter"),
    ],
)
def test_fields_bound_by_the_path_or_body_are_refused_in_the_query(
    params: Query, path: str, method: str, field: str, why: str
) -> None:
    found = refused(params, path, method)
    assert found[0] == field
    assert why in found[1]


def test_fields_the_path_leaves_free_come_from_the_query() -> None:
    # `parent.id` shares a message with the path's `parent.child.id`; both end up set.
    assert query([("parent.id", "p"), ("page.size", "2")], "/v1/things/n/c") == {
        "name": "n",
        "parent": {"id": "p", "child": {"id": "c"}},
        "page": {"size": 2},
    }


def test_resolved_names_are_cached_per_route() -> None:
    fields = query_fields(ROUTES.match("GET", "/v1/things").route)
    assert fields.param("page.size") is fields.param("page.size")
    assert fields.param("page.size").path == ("page", "size")
    for index in range(1000):  # unknown names are refused every time, never remembered
        with pytest.raises(EdgeError):
            fields.param(f"junk{index}")
    assert len(fields._params) <= 256


def test_apply_query_sets_fields_on_a_message_of_its_own() -> None:
    route = ROUTES.match("GET", "/v1/things").route
    message = route.method.request_class()
    apply_query(route, [("page.size", "4"), ("symbols", "A")], message)
    assert _json(message) == {"page": {"size": 4}, "symbols": ["A"]}

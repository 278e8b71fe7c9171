"""Request assembly: whole and field bodies, content types, path variables winning over the
body, and the PATCH field mask filled from the body's keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from edge.contracts import compiled_contracts
from edge.errors import EdgeError
from edge.rest.query import Query
from edge.rest.request import build_request, mask_paths
from edge.rest.routes import RouteTable
from tests.unit.edge.rest._contracts import Rpc, rule, table

JSON = "application/json"
ROUTES = table(
    Rpc("Create", rule("post", "/v1/things", body="*")),
    Rpc("Rename", rule("post", "/v1/things/{name}:rename", body="*")),
    Rpc("Get", rule("get", "/v1/things/{name}")),
    Rpc("Update", rule("patch", "/v1/things/{item.name}", body="item")),
    Rpc("Replace", rule("put", "/v1/things/{item.name}", body="item")),
    Rpc("Tag", rule("post", "/v1/things/{name}:tag", body="symbols")),
    Rpc("Moment", rule("post", "/v1/things/{name}:at", body="since")),
    Rpc("Nested", rule("post", "/v1/things/{name}:detail", body="item.detail")),
    Rpc("Count", rule("get", "/v1/counts/{count}/{flag}/{side}")),
    Rpc("PatchAll", rule("patch", "/v1/all/{name}", body="*")),
    Rpc("PatchPlain", rule("patch", "/v1/plain/{name}", body="item"), request="Plain"),
)


def build(
    method: str,
    path: str,
    body: Any = None,
    query: Query = (),
    content_type: str | None = JSON,
    raw: bytes | None = None,
) -> dict[str, Any]:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    message = build_request(ROUTES.match(method, path), query, data, content_type)
    return _json(message)


def _json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def refusal(method: str, path: str, **kwargs: Any) -> EdgeError:
    with pytest.raises(EdgeError) as caught:
        build(method, path, **kwargs)
    return caught.value


def violation(error: EdgeError) -> tuple[str, str]:
    assert error.http_status == 400
    for item in error.status.details:
        if item.TypeName() == error_details_pb2.BadRequest.DESCRIPTOR.full_name:
            found = error_details_pb2.BadRequest()
            item.Unpack(found)
            (only,) = found.field_violations
            return only.field, only.description
    raise AssertionError("no BadRequest detail")


def test_a_whole_body_fills_the_request_by_either_name() -> None:
    body = {"userId": "u", "item": {"display_name": "x", "detail": {"weight": 2}}, "count": 3}
    assert build("POST", "/v1/things", body) == {
        "user_id": "u",
        "item": {"display_name": "x", "detail": {"weight": 2}},
        "count": 3,
    }


def test_a_path_variable_wins_over_the_same_field_in_the_body() -> None:
    assert build("POST", "/v1/things/from-path:rename", {"name": "from-body", "count": 1}) == {
        "name": "from-path",
        "count": 1,
    }
    assert build(
        "PATCH", "/v1/things/p", {"name": "b", "tags": ["t"]}, query=[("update_mask", "tags")]
    ) == {
        "item": {"name": "p", "tags": ["t"]},
        "update_mask": "tags",
    }


def test_a_field_body_fills_that_field_and_query_the_rest() -> None:
    assert build(
        "PUT", "/v1/things/n", {"displayName": "x", "labels": {"a": "b"}}, [("count", "2")]
    ) == {"item": {"name": "n", "display_name": "x", "labels": {"a": "b"}}, "count": 2}
    assert build("POST", "/v1/things/n:tag", ["A", "B"]) == {"name": "n", "symbols": ["A", "B"]}
    assert build("POST", "/v1/things/n:at", "2026-01-01T00:00:00Z") == {
        "name": "n",
        "since": "2026-01-01T00:00:00Z",
    }
    assert build("POST", "/v1/things/n:detail", {"colour": "red"}) == {
        "name": "n",
        "item": {"detail": {"colour": "red"}},
    }


def test_an_empty_object_body_sets_the_message_field() -> None:
    assert build("PUT", "/v1/things/n", {}) == {"item": {"name": "n"}}
    assert build("POST", "/v1/things/n:detail", {}) == {"name": "n", "item": {"detail": {}}}


def test_an_empty_body_is_an_empty_request_whatever_its_content_type() -> None:
    assert build("POST", "/v1/things", content_type=None) == {}
    assert build("POST", "/v1/things", content_type="text/plain") == {}
    assert build("PUT", "/v1/things/n", content_type=None) == {"item": {"name": "n"}}


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "why"),
    [
        ("POST", "/v1/things", {"nope": 1}, "nope", "unknown"),
        ("POST", "/v1/things", {"count": "x"}, "count", ""),
        ("POST", "/v1/things", {"item": {"detail": {"weight": "heavy"}}}, "item.detail.weight", ""),
        ("POST", "/v1/things", {"side": "SIDE_UP"}, "side", ""),
        ("POST", "/v1/things", [1], "", "expected a JSON object"),
        ("POST", "/v1/things", "text", "", "expected a JSON object"),
        ("POST", "/v1/things", None, "", "expected a JSON object"),
        # Inside a field body, fields are named as the client wrote them: within the body.
        ("PUT", "/v1/things/n", {"detail": {"weight": "heavy"}}, "detail.weight", ""),
        ("PUT", "/v1/things/n", {"nope": 1}, "nope", ""),
        ("PUT", "/v1/things/n", [1, 2], "", "expected a JSON object"),
        ("PUT", "/v1/things/n", None, "", "expected a JSON object"),
        ("POST", "/v1/things/n:tag", [1], "symbols[0]", ""),
        ("POST", "/v1/things/n:tag", {"a": 1}, "symbols", ""),
        ("POST", "/v1/things/n:at", "soon", "since", ""),
    ],
)
def test_bodies_that_do_not_fit_are_400_naming_the_field(
    method: str, path: str, body: Any, field: str, why: str
) -> None:
    raw = b"null" if body is None else json.dumps(body).encode()
    found = violation(refusal(method, path, raw=raw))
    assert found[0] == field
    assert why in found[1]


@pytest.mark.parametrize("raw", [b"{", b'{"name": }', b"\xff\xfe{}", b"{}{}", b"   "])
def test_malformed_json_is_400_for_the_whole_body(raw: bytes) -> None:
    for method, path in (("POST", "/v1/things"), ("PUT", "/v1/things/n")):
        field, why = violation(refusal(method, path, raw=raw))
        assert field == ""
        assert "malformed JSON" in why


def test_a_route_without_a_body_refuses_one() -> None:
    field, why = violation(refusal("GET", "/v1/things/n", raw=b"{}"))
    assert field == ""
    assert "takes no body" in why
    assert build("GET", "/v1/things/n") == {"name": "n"}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        'Application/JSON;charset="UTF-8"',
        "application/json; foo=bar",
    ],
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    assert build("POST", "/v1/things", {"name": "a"}, content_type=content_type) == {"name": "a"}


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/json; charset=latin-1",
    ],
)
def test_other_content_types_are_415(content_type: str | None) -> None:
    error = refusal("POST", "/v1/things", body={"name": "a"}, content_type=content_type)
    assert error.http_status == 415
    assert "application/json" in error.status.message or "UTF-8" in error.status.message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/counts/-3/true/SIDE_BUY", {"count": -3, "flag": True, "side": "SIDE_BUY"}),
        ("/v1/counts/7/0/SIDE_SELL", {"count": 7, "side": "SIDE_SELL"}),
    ],
)
def test_path_variables_are_converted_to_their_field_types(
    path: str, expected: dict[str, Any]
) -> None:
    assert build("GET", path) == expected


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/counts/x/true/SIDE_BUY", "count"),
        ("/v1/counts/99999999999/true/SIDE_BUY", "count"),
        ("/v1/counts/1/maybe/SIDE_BUY", "flag"),
        ("/v1/counts/1/true/SIDE_UP", "side"),
    ],
)
def test_bad_path_values_are_400_naming_the_variable(path: str, field: str) -> None:
    assert violation(refusal("GET", path))[0] == field


def test_patch_fills_the_update_mask_from_the_body_keys() -> None:
    body = {
        "displayName": "x",
        "detail": {"colour": "red", "weight": 1},
        "labels": {"a": "b"},
        "extra": {"deep": {"er": 1}},
        "tags": ["t"],
        "created": "2026-01-01T00:00:00Z",
    }
    message = build_request(
        ROUTES.match("PATCH", "/v1/things/n"), (), json.dumps(body).encode(), JSON
    )
    assert list(message.update_mask.paths) == [  # type: ignore[attr-defined]
        "created",
        "detail.colour",
        "detail.weight",
        "display_name",
        "extra",
        "labels",
        "tags",
    ]
    assert message.item.name == "n"  # type: ignore[attr-defined]


def test_patch_mask_names_an_empty_object_and_a_null_as_themselves() -> None:
    assert build("PATCH", "/v1/things/n", {"detail": {}, "displayName": None})["update_mask"] == (
        "detail,displayName"
    )


def test_patch_keeps_a_mask_the_client_gave() -> None:
    assert (
        build(
            "PATCH", "/v1/things/n", {"displayName": "x", "tags": ["t"]}, [("update_mask", "tags")]
        )["update_mask"]
        == "tags"
    )


def test_no_mask_is_filled_for_put_a_whole_body_or_a_request_without_one() -> None:
    assert "update_mask" not in build("PUT", "/v1/things/n", {"displayName": "x"})
    assert "update_mask" not in build("PATCH", "/v1/all/n", {"item": {"displayName": "x"}})
    assert build("PATCH", "/v1/plain/n", {"displayName": "x"}) == {
        "name": "n",
        "item": {"display_name": "x"},
    }
    assert "update_mask" not in build("PATCH", "/v1/things/n")  # no body, nothing to name


def test_mask_paths_stop_at_lists_maps_and_well_known_types() -> None:
    item = ROUTES.match("PUT", "/v1/things/n").route.method.input.fields_by_name["item"]
    descriptor = item.message_type
    assert sorted(mask_paths(descriptor, {"labels": {"x": {"y": 1}}, "unknown": 1})) == ["labels"]
    assert mask_paths(descriptor, {"detail": {"colour": "c"}}) == ["detail.colour"]


def test_the_real_update_user_patch_fills_its_mask() -> None:
    routes = RouteTable.build(compiled_contracts())
    message = build_request(
        routes.match("PATCH", "/api/v1/users/0b6f3f5e-1111-4d5e-9c3a-222222222222"),
        [],
        b'{"email": "a@example.com", "display_name": "A"}',
        "application/json; charset=utf-8",
    )
    assert _json(message) == {
        "user_id": "0b6f3f5e-1111-4d5e-9c3a-222222222222",
        "user": {"email": "a@example.com", "display_name": "A"},
        "update_mask": "displayName,email",
    }


def test_the_real_cancel_order_takes_its_id_from_the_path() -> None:
    routes = RouteTable.build(compiled_contracts())
    message = build_request(
        routes.match("POST", "/api/v1/orders/o-1/cancel"), [], b'{"orderId": "o-2"}', JSON
    )
    assert _json(message) == {"order_id": "o-1"}


def test_the_real_place_order_reads_its_whole_body() -> None:
    routes = RouteTable.build(compiled_contracts())
    body = {"portfolioId": "p", "symbol": "AAPL", "side": "SIDE_BUY", "quantity": "10"}
    message = build_request(
        routes.match("POST", "/api/v1/orders"), [], json.dumps(body).encode(), JSON
    )
    assert _json(message) == {
        "portfolio_id": "p",
        "symbol": "AAPL",
        "side": "SIDE_BUY",
        "quantity": "10",
    }
    with pytest.raises(EdgeError) as refused:
        build_request(routes.match("POST", "/api/v1/orders"), [("symbol", "X")], b"{}", JSON)
    assert violation(refused.value)[0] == "symbol"

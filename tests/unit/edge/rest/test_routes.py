"""The route table: built from the real contracts and from synthetic ones in a pool of their
own; precedence, conflicts, bad annotations, 404 and 405."""

from __future__ import annotations

import grpc
import pytest
from google.api import http_pb2
from google.rpc import error_details_pb2

from edge.contracts import compiled_contracts
from edge.errors import EdgeError
from edge.rest.pattern import PathTemplate
from edge.rest.routes import Route, RouteConflict, RouteError, RouteTable
from tests.unit.edge.rest._contracts import Rpc, contracts, matched, method, rule, table


@pytest.fixture(scope="module")
def real() -> RouteTable:
    return RouteTable.build(compiled_contracts())


def test_every_binding_of_every_reachable_method_is_a_route(real: RouteTable) -> None:
    expected = {
        (r.WhichOneof("pattern").upper(), getattr(r, r.WhichOneof("pattern")), m.name)
        for m in compiled_contracts()
        if m.reachable
        for r in m.http_rules
    }
    assert {(r.http_method, r.template.text, r.method.name) for r in real.routes} == expected
    assert len(real) == len(expected) > 30


def test_service_only_methods_get_no_route(real: RouteTable) -> None:
    names = {route.method.name for route in real.routes}
    assert "trademesh.portfolio.v1.PortfolioService.ReserveCash" not in names
    assert "trademesh.identity.v1.IdentityService.Login" in names


@pytest.mark.parametrize(
    ("http_method", "path", "rpc", "variables"),
    [
        ("GET", "/api/v1/stocks/search", "SearchInstruments", {}),
        ("GET", "/api/v1/stocks/AAPL", "GetInstrument", {"symbol": "AAPL"}),
        ("GET", "/api/v1/stocks/quotes", "GetQuotes", {}),
        ("GET", "/api/v1/stocks/quotes/stream", "StreamQuotes", {}),
        ("GET", "/api/v1/stocks/AAPL/quote", "GetQuote", {"symbol": "AAPL"}),
        ("GET", "/api/v1/users/me", "GetMe", {}),
        ("GET", "/api/v1/users/u-1", "GetUser", {"user_id": "u-1"}),
        ("PATCH", "/api/v1/users/u-1", "UpdateUser", {"user_id": "u-1"}),
        ("GET", "/api/v1/orders/stream", "StreamOrderUpdates", {}),
        ("GET", "/api/v1/orders/o-1", "GetOrder", {"order_id": "o-1"}),
        ("POST", "/api/v1/orders/o-1/cancel", "CancelOrder", {"order_id": "o-1"}),
        ("GET", "/api/v1/portfolios/p-1/stream", "WatchPortfolio", {"portfolio_id": "p-1"}),
        ("GET", "/.well-known/jwks.json", "GetJwks", {}),
        ("HEAD", "/api/v1/users/me", "GetMe", {}),  # HEAD answers as GET
        ("get", "/api/v1/trades", "ListTrades", {}),
    ],
)
def test_real_routes_prefer_literal_segments(
    real: RouteTable, http_method: str, path: str, rpc: str, variables: dict[str, str]
) -> None:
    found = real.match(http_method, path)
    assert found.route.method.descriptor.name == rpc
    assert found.variables == variables


def test_an_unknown_path_is_404_naming_it(real: RouteTable) -> None:
    with pytest.raises(EdgeError) as refused:
        real.match("GET", "/api/v1/nothing/here")
    assert refused.value.http_status == 404
    assert refused.value.status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert "/api/v1/nothing/here" in refused.value.status.message
    for path in ("/api/v1/users/", "/api/v1//users", "api/v1/users", "/api/v1/users/a/b/c"):
        with pytest.raises(EdgeError) as again:
            real.match("GET", path)
        assert again.value.http_status == 404


def test_a_known_path_with_the_wrong_method_is_405_with_allow(real: RouteTable) -> None:
    with pytest.raises(EdgeError) as refused:
        real.match("PUT", "/api/v1/users/u-1")
    assert refused.value.http_status == 405
    assert refused.value.headers["Allow"] == "DELETE, GET, HEAD, PATCH"
    assert "PUT" in refused.value.status.message
    with pytest.raises(EdgeError) as post_only:
        real.match("GET", "/api/v1/auth/login")
    assert post_only.value.http_status == 405
    assert post_only.value.headers["Allow"] == "POST"


def test_a_path_variable_that_is_not_utf8_is_400_naming_it(real: RouteTable) -> None:
    with pytest.raises(EdgeError) as refused:
        real.match("GET", "/api/v1/users/%C3%28")
    assert refused.value.http_status == 400
    violations = _violations(refused.value)
    assert violations == [("user_id", "is not valid UTF-8 once percent-decoded")]


def _violations(error: EdgeError) -> list[tuple[str, str]]:
    for item in error.status.details:
        if item.TypeName() == error_details_pb2.BadRequest.DESCRIPTOR.full_name:
            found = error_details_pb2.BadRequest()
            item.Unpack(found)
            return [(v.field, v.description) for v in found.field_violations]
    return []


def test_synthetic_templates_of_every_shape_route_their_variables() -> None:
    routes = table(
        Rpc("Nested", rule("get", "/v1/parents/{parent.id}/children/{parent.child.id}")),
        Rpc("Named", rule("get", "/v1/{name=items/*}")),
        Rpc("Deep", rule("get", "/v1/{name=shelves/*/books/*}")),
        Rpc("Files", rule("get", "/v1/files/{path=**}")),
        Rpc("Cancel", rule("post", "/v1/{name=items/*}:cancel", body="*")),
        Rpc("Plain", rule("get", "/v1/items/{name}/plain")),
    )
    assert matched(routes, "GET", "/v1/parents/p/children/c") == (
        "Nested",
        {"parent.id": "p", "parent.child.id": "c"},
    )
    assert matched(routes, "GET", "/v1/items/a%2Fb") == ("Named", {"name": "items/a%2Fb"})
    assert matched(routes, "GET", "/v1/shelves/1/books/2") == (
        "Deep",
        {"name": "shelves/1/books/2"},
    )
    assert matched(routes, "GET", "/v1/files/a/b/c.txt") == ("Files", {"path": "a/b/c.txt"})
    assert matched(routes, "POST", "/v1/items/7:cancel") == ("Cancel", {"name": "items/7"})
    assert matched(routes, "GET", "/v1/items/a%2Fb/plain") == ("Plain", {"name": "a/b"})
    # An unknown verb is data of the GET route's variable, so POST there is a wrong method.
    assert matched(routes, "GET", "/v1/items/7:undo") == ("Named", {"name": "items/7:undo"})
    with pytest.raises(EdgeError) as refused:
        routes.match("POST", "/v1/items/7:undo")
    assert refused.value.http_status == 405
    assert refused.value.headers["Allow"] == "GET, HEAD"


def test_additional_bindings_are_routes_of_the_same_method() -> None:
    routes = table(
        Rpc(
            "Get",
            rule(
                "get",
                "/v1/things/{name}",
                additional_bindings=[
                    rule("get", "/v2/things/{name}"),
                    rule("post", "/v1/things/{name}:get", body="*"),
                ],
            ),
        )
    )
    assert [(r.http_method, r.template.text) for r in routes.routes] == [
        ("GET", "/v1/things/{name}"),
        ("GET", "/v2/things/{name}"),
        ("POST", "/v1/things/{name}:get"),
    ]
    assert matched(routes, "GET", "/v2/things/a") == ("Get", {"name": "a"})
    assert matched(routes, "POST", "/v1/things/a:get") == ("Get", {"name": "a"})


def test_literals_win_at_each_position_and_star_beats_double_star() -> None:
    routes = table(
        Rpc("Var", rule("get", "/v1/users/{user_id}")),
        Rpc("Me", rule("get", "/v1/users/me")),
        Rpc("Tail", rule("get", "/v1/users/{user_id}/tail")),
        Rpc("MeExact", rule("get", "/v1/a/b/d")),
        Rpc("StarC", rule("get", "/v1/a/{name}/c")),
        Rpc("Rest", rule("get", "/v1/files/{path=**}")),
        Rpc("One", rule("get", "/v1/files/{name}")),
        Rpc("Root", rule("get", "/v1/files")),
    )
    assert matched(routes, "GET", "/v1/users/me") == ("Me", {})
    assert matched(routes, "GET", "/v1/users/you") == ("Var", {"user_id": "you"})
    # "me" is tried as a literal first; it leads nowhere, so the variable takes it.
    assert matched(routes, "GET", "/v1/users/me/tail") == ("Tail", {"user_id": "me"})
    assert matched(routes, "GET", "/v1/a/b/d") == ("MeExact", {})
    assert matched(routes, "GET", "/v1/a/b/c") == ("StarC", {"name": "b"})
    assert matched(routes, "GET", "/v1/files/x") == ("One", {"name": "x"})
    assert matched(routes, "GET", "/v1/files/x/y") == ("Rest", {"path": "x/y"})
    assert matched(routes, "GET", "/v1/files") == ("Root", {})


def test_the_same_path_under_different_methods_is_no_conflict() -> None:
    routes = table(
        Rpc("Get", rule("get", "/v1/items/{name}")),
        Rpc("Delete", rule("delete", "/v1/items/{name}")),
        Rpc("Custom", rule("LIST", "/v1/items/{name}")),
    )
    assert matched(routes, "DELETE", "/v1/items/a") == ("Delete", {"name": "a"})
    assert matched(routes, "LIST", "/v1/items/a") == ("Custom", {"name": "a"})
    with pytest.raises(EdgeError) as refused:
        routes.match("POST", "/v1/items/a")
    assert refused.value.headers["Allow"] == "DELETE, GET, HEAD, LIST"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (rule("get", "/v1/items/{name}"), rule("get", "/v1/items/{user_id}")),
        (rule("get", "/v1/{name=items/*}"), rule("get", "/v1/items/{user_id}")),
        (rule("get", "/v1/files/{path=**}"), rule("get", "/v1/files/**")),
        (rule("post", "/v1/items:run", body="*"), rule("post", "/v1/items:run")),
        (rule("get", "/v1/items"), rule("get", "/v1/items")),
    ],
)
def test_two_bindings_that_match_the_same_requests_are_refused_naming_both(
    first: http_pb2.HttpRule, second: http_pb2.HttpRule
) -> None:
    with pytest.raises(RouteConflict) as refused:
        table(Rpc("First", first), Rpc("Second", second))
    text = str(refused.value)
    assert "rest.v1.ThingService.First" in text
    assert "rest.v1.ThingService.Second" in text
    assert refused.value.first.template.text in text
    assert refused.value.second.template.text in text


def test_a_conflict_with_an_additional_binding_is_refused() -> None:
    with pytest.raises(RouteConflict) as refused:
        table(
            Rpc("A", rule("get", "/v1/a", additional_bindings=[rule("get", "/v1/shared/{name}")])),
            Rpc("B", rule("get", "/v1/shared/{path}")),
        )
    assert "ThingService.A" in str(refused.value)
    assert "ThingService.B" in str(refused.value)


def test_methods_without_access_or_for_services_only_get_no_route() -> None:
    routes = table(
        Rpc("Open", rule("get", "/v1/open")),
        Rpc("Internal", rule("get", "/v1/internal"), callers=["trading"]),
        Rpc("Undeclared", rule("get", "/v1/undeclared"), access=False),
        Rpc("Unbound"),
    )
    assert [r.method.descriptor.name for r in routes.routes] == ["Open"]
    with pytest.raises(EdgeError):
        routes.match("GET", "/v1/internal")


@pytest.mark.parametrize(
    ("binding", "names"),
    [
        (rule("get", "/v1/{nope}"), ["path variable {nope}", "no field 'nope'"]),
        (rule("get", "/v1/{parent.nope}"), ["{parent.nope}", "rest.v1.Parent has no field"]),
        (rule("get", "/v1/{name.id}"), ["{name.id}", "'name' is not a singular message field"]),
        (rule("get", "/v1/{pages.size}"), ["'pages' is not a singular message field"]),
        (rule("get", "/v1/{page}"), ["{page}", "names a message or repeated field"]),
        (rule("get", "/v1/{symbols}"), ["{symbols}", "names a message or repeated field"]),
        (rule("get", "/v1/{count=items/*}"), ["{count}", "must be a string"]),
        (rule("post", "/v1/x", body="nope"), ["body 'nope'", "no field 'nope'"]),
        (rule("post", "/v1/x", body="item.nope"), ["body 'item.nope'", "rest.v1.Item"]),
        (rule("get", "/v1/x", response_body="nope"), ["response_body 'nope'", "rest.v1.Response"]),
        (rule("get", "/v1/{name"), ["path template '/v1/{name'", "'{' without '}'"]),
        (rule("get", "v1/x"), ["must start with '/'"]),
        (rule("with space", "/v1/x"), ["custom HTTP method 'with space'"]),
    ],
)
def test_bad_annotations_fail_the_build_naming_method_and_field(
    binding: http_pb2.HttpRule, names: list[str]
) -> None:
    with pytest.raises(RouteError) as refused:
        table(Rpc("Bad", binding))
    text = str(refused.value)
    assert "rest.v1.ThingService.Bad" in text
    for name in names:
        assert name in text


def test_nested_additional_bindings_and_bindings_without_a_method_are_refused() -> None:
    nested = rule("get", "/v1/x")
    nested.additional_bindings.add(get="/v2/x").additional_bindings.add(get="/v3/x")
    with pytest.raises(RouteError, match="may not have bindings of its own"):
        table(Rpc("Nested", nested))
    with pytest.raises(RouteError, match="without an HTTP method"):
        table(Rpc("Empty", http_pb2.HttpRule(body="*")))


def test_valid_field_references_pass_and_are_kept() -> None:
    routes = table(
        Rpc(
            "Update",
            rule("patch", "/v1/{item.name=items/*}", body="item", response_body="item"),
        )
    )
    (route,) = routes.routes
    assert (route.body, route.response_body) == ("item", "item")
    assert route.template.variables[0].field_path == ("item", "name")
    assert route.template.openapi_path == "/v1/{item.name}"


def test_matching_walks_a_trie_instead_of_trying_each_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Many routes of the same shape (the worst case for a scan); matching must neither test
    # templates one by one nor bind more than the one it answers with.
    contract = method(contracts(Rpc("Any", rule("get", "/v1/x"))), "Any")
    routes = RouteTable(
        Route("GET", PathTemplate.parse(f"/v1/r{i}/{{name}}/s{i % 7}"), contract, "", "")
        for i in range(5000)
    )
    binds: list[str] = []
    original = PathTemplate.bind

    def counted(self: PathTemplate, segments: list[str]) -> dict[str, str]:
        binds.append(self.text)
        return original(self, segments)

    def forbidden(self: PathTemplate, path: str) -> None:
        raise AssertionError("the table matched template by template")

    monkeypatch.setattr(PathTemplate, "bind", counted)
    monkeypatch.setattr(PathTemplate, "match", forbidden)
    found = routes.match("GET", "/v1/r4321/abc/s2")
    assert found.route.template.text == "/v1/r4321/{name}/s2"
    assert found.variables == {"name": "abc"}
    assert binds == ["/v1/r4321/{name}/s2"]
    with pytest.raises(EdgeError) as refused:
        routes.match("GET", "/v1/r4321/abc/s3")
    assert refused.value.http_status == 404


def test_routes_keep_their_descriptors_pool() -> None:
    # Built from a pool of their own: the route's method is that pool's, not the default's.
    routes = table(Rpc("Get", rule("get", "/v1/things/{name}")))
    (route,) = routes.routes
    assert route.method.input.full_name == "rest.v1.Request"
    assert route.method.request_class().DESCRIPTOR is route.method.input

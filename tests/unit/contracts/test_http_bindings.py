"""REST bindings: every client-facing RPC has one, on the paths the clients already use."""

from __future__ import annotations

import re

import pytest

from tests.unit.contracts import catalog

IDENTITY = "trademesh.identity.v1.IdentityService"
MARKETDATA = "trademesh.marketdata.v1.MarketDataService"
TRADING = "trademesh.trading.v1.TradingService"
PORTFOLIO = "trademesh.portfolio.v1.PortfolioService"
NOTIFICATION = "trademesh.notification.v1.NotificationService"

EXPECTED = {
    f"{IDENTITY}.Register": ("post", "/api/v1/auth/register"),
    f"{IDENTITY}.Login": ("post", "/api/v1/auth/login"),
    f"{IDENTITY}.Refresh": ("post", "/api/v1/auth/refresh"),
    f"{IDENTITY}.Logout": ("post", "/api/v1/auth/logout"),
    f"{IDENTITY}.Validate": ("post", "/api/v1/auth/validate"),
    f"{IDENTITY}.GetMe": ("get", "/api/v1/users/me"),
    f"{IDENTITY}.GetUser": ("get", "/api/v1/users/{user_id}"),
    f"{IDENTITY}.UpdateUser": ("patch", "/api/v1/users/{user_id}"),
    f"{IDENTITY}.DeleteUser": ("delete", "/api/v1/users/{user_id}"),
    f"{IDENTITY}.ListUsers": ("get", "/api/v1/users"),
    f"{IDENTITY}.GetJwks": ("get", "/.well-known/jwks.json"),
    f"{MARKETDATA}.SearchInstruments": ("get", "/api/v1/stocks/search"),
    f"{MARKETDATA}.GetInstrument": ("get", "/api/v1/stocks/{symbol}"),
    f"{MARKETDATA}.GetQuote": ("get", "/api/v1/stocks/{symbol}/quote"),
    f"{MARKETDATA}.GetQuotes": ("get", "/api/v1/stocks/quotes"),
    f"{TRADING}.PlaceOrder": ("post", "/api/v1/orders"),
    f"{TRADING}.CancelOrder": ("post", "/api/v1/orders/{order_id}/cancel"),
    f"{TRADING}.GetOrder": ("get", "/api/v1/orders/{order_id}"),
    f"{TRADING}.ListOrders": ("get", "/api/v1/orders"),
    f"{TRADING}.ListTrades": ("get", "/api/v1/trades"),
    f"{TRADING}.GetRiskLimits": ("get", "/api/v1/risk-limits/{user_id}"),
    f"{TRADING}.SetRiskLimits": ("put", "/api/v1/risk-limits/{user_id}"),
    f"{PORTFOLIO}.CreatePortfolio": ("post", "/api/v1/portfolios"),
    f"{PORTFOLIO}.GetPortfolio": ("get", "/api/v1/portfolios/{portfolio_id}"),
    f"{PORTFOLIO}.ListPortfolios": ("get", "/api/v1/portfolios"),
    f"{PORTFOLIO}.UpdatePortfolio": ("patch", "/api/v1/portfolios/{portfolio_id}"),
    f"{PORTFOLIO}.DeletePortfolio": ("delete", "/api/v1/portfolios/{portfolio_id}"),
    f"{PORTFOLIO}.ListPositions": ("get", "/api/v1/portfolios/{portfolio_id}/positions"),
    f"{PORTFOLIO}.GetPerformance": ("get", "/api/v1/portfolios/{portfolio_id}/performance"),
    f"{PORTFOLIO}.ExportPortfolio": ("get", "/api/v1/portfolios/{portfolio_id}/export"),
    f"{NOTIFICATION}.ListNotifications": ("get", "/api/v1/notifications"),
    f"{NOTIFICATION}.MarkRead": ("post", "/api/v1/notifications/read"),
    # Server streams over HTTP (SSE or NDJSON), each beside its Socket.IO room.
    f"{MARKETDATA}.StreamQuotes": ("get", "/api/v1/stocks/quotes/stream"),
    f"{TRADING}.StreamOrderUpdates": ("get", "/api/v1/orders/stream"),
    f"{PORTFOLIO}.WatchPortfolio": ("get", "/api/v1/portfolios/{portfolio_id}/stream"),
    f"{NOTIFICATION}.StreamNotifications": ("get", "/api/v1/notifications/stream"),
}

_VERBS = ("get", "put", "post", "delete", "patch")
_VARIABLE = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")


def _binding(rpc: catalog.Rpc) -> tuple[str, str]:
    rule = rpc.http
    assert rule is not None, f"{rpc.name} has no google.api.http binding"
    verb = rule.WhichOneof("pattern")
    assert verb in _VERBS, f"{rpc.name}: unexpected pattern {verb}"
    return verb, getattr(rule, verb)


def test_bindings_are_the_published_rest_paths() -> None:
    found = {rpc.name: _binding(rpc) for rpc in catalog.rpcs() if rpc.http is not None}
    assert found == EXPECTED


@pytest.mark.parametrize("rpc", catalog.rpcs(), ids=lambda rpc: rpc.short)
def test_client_facing_rpcs_are_bound_and_others_are_not(rpc: catalog.Rpc) -> None:
    if rpc.service_only or rpc.method.client_streaming:
        assert rpc.http is None, f"{rpc.name} takes a client stream or is service-only"
        return
    if rpc.method.server_streaming:
        verb, _ = _binding(rpc)
        assert verb == "get", f"{rpc.name}: a server stream is bound to GET (SSE/NDJSON)"
    _, path = _binding(rpc)
    assert path.startswith(("/api/v1/", "/.well-known/")), path
    assert not rpc.http.additional_bindings  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "rpc", [rpc for rpc in catalog.rpcs() if rpc.http is not None], ids=lambda rpc: rpc.short
)
def test_bindings_name_real_fields(rpc: catalog.Rpc) -> None:
    rule = rpc.http
    assert rule is not None
    verb, path = _binding(rpc)
    request = rpc.method.input_type
    for variable in _VARIABLE.findall(path):
        descriptor = request
        for part in variable.split("."):
            assert descriptor is not None and part in descriptor.fields_by_name, (path, variable)
            descriptor = descriptor.fields_by_name[part].message_type
    if verb in ("get", "delete"):
        assert rule.body == "", f"{rpc.name}: {verb} carries no body"
    elif rule.body != "*":
        assert rule.body in request.fields_by_name, rule.body
    if rule.response_body:
        assert rule.response_body in rpc.method.output_type.fields_by_name


def test_path_variables_have_validation_rules() -> None:
    # A REST path segment becomes a request field; each must be constrained, or any string
    # would reach the servicer.
    from buf.validate import validate_pb2

    for rpc in catalog.rpcs():
        if rpc.http is None:
            continue
        _, path = _binding(rpc)
        for variable in _VARIABLE.findall(path):
            field = rpc.method.input_type.fields_by_name[variable]
            rules = field.GetOptions().Extensions[validate_pb2.field]
            assert rules.required and (rules.string.uuid or rules.string.pattern), (
                f"{rpc.name}: path variable {variable} is not validated"
            )


def test_success_codes() -> None:
    codes = {rpc.short: rpc.success_code for rpc in catalog.rpcs() if rpc.success_code}
    assert codes == {
        "Register": 201,
        "CreatePortfolio": 201,
        "PlaceOrder": 202,
        "DeleteUser": 204,
        "DeletePortfolio": 204,
    }
    for rpc in catalog.rpcs():
        if rpc.success_code:
            assert rpc.http is not None, f"{rpc.name} has a success code but no binding"

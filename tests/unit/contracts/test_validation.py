"""protovalidate enforces the buf.validate rules of the requests."""

from __future__ import annotations

import uuid

import protovalidate
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.identity.v1 import identity_pb2
from trademesh.marketdata.v1 import marketdata_pb2
from trademesh.notification.v1 import notification_pb2
from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import trading_pb2

ID = str(uuid.uuid4())


def violations(message: Message) -> set[tuple[str, str]]:
    """(field path, rule id) of each violation; the path is empty for message rules."""
    found = set()
    for violation in protovalidate.collect_violations(message):
        proto = violation.proto
        path = (
            ".".join(element.field_name for element in proto.field.elements) if proto.field else ""
        )
        found.add((path, proto.rule_id))
    return found


def limit_order(**changes: object) -> trading_pb2.PlaceOrderRequest:
    request = trading_pb2.PlaceOrderRequest(
        portfolio_id=ID,
        client_order_id="web-2024-0001",
        symbol="AAPL",
        side=types_pb2.SIDE_BUY,
        order_type=trading_pb2.ORDER_TYPE_LIMIT,
        quantity="10",
        limit_price="189.25",
        time_in_force=trading_pb2.TIME_IN_FORCE_GTC,
    )
    for name, value in changes.items():
        setattr(request, name, value)
    return request


def test_valid_limit_and_market_orders_pass() -> None:
    protovalidate.validate(limit_order())
    protovalidate.validate(limit_order(quantity="0.00000001", limit_price="0.5"))
    protovalidate.validate(limit_order(order_type=trading_pb2.ORDER_TYPE_MARKET, limit_price=""))
    protovalidate.validate(limit_order(symbol="BRK.B", time_in_force=0))


def test_validate_raises_with_the_violations() -> None:
    with pytest.raises(protovalidate.ValidationError) as raised:
        protovalidate.validate(limit_order(quantity="0"))
    assert [v.proto.rule_id for v in raised.value.violations] == ["decimal.positive"]


@pytest.mark.parametrize(
    ("quantity", "rule"),
    [
        ("0", "decimal.positive"),
        ("0.000", "decimal.positive"),
        ("-1", "string.pattern"),
        ("1e3", "string.pattern"),
        ("abc", "string.pattern"),
        ("1.123456789", "string.pattern"),
        ("", "required"),
    ],
)
def test_quantity_must_be_a_positive_decimal(quantity: str, rule: str) -> None:
    assert violations(limit_order(quantity=quantity)) == {("quantity", rule)}


def test_limit_order_needs_a_positive_price() -> None:
    assert violations(limit_order(limit_price="")) == {("", "place_order.limit_price_required")}
    assert violations(limit_order(limit_price="0")) == {("limit_price", "decimal.positive")}
    assert violations(limit_order(limit_price="-5")) == {("limit_price", "string.pattern")}


def test_market_order_carries_no_price() -> None:
    market = limit_order(order_type=trading_pb2.ORDER_TYPE_MARKET)
    assert violations(market) == {("", "place_order.market_without_price")}


@pytest.mark.parametrize("symbol", ["aapl", "AAPL!", "1ABC", "ABCDEFGHIJKLM"])
def test_symbols_are_upper_case_and_short(symbol: str) -> None:
    assert ("symbol", "string.pattern") in violations(limit_order(symbol=symbol))
    assert violations(marketdata_pb2.GetQuoteRequest(symbol=symbol))


def test_enums_must_be_defined_and_set() -> None:
    assert violations(limit_order(side=types_pb2.SIDE_UNSPECIFIED)) == {("side", "required")}
    assert violations(limit_order(order_type=9)) == {("order_type", "enum.defined_only")}
    assert violations(limit_order(time_in_force=42)) == {("time_in_force", "enum.defined_only")}


@pytest.mark.parametrize("client_order_id", ["", "has space", "x" * 65])
def test_client_order_id_is_a_short_token(client_order_id: str) -> None:
    assert {path for path, _ in violations(limit_order(client_order_id=client_order_id))} == {
        "client_order_id"
    }


def test_ids_must_be_uuids() -> None:
    assert violations(limit_order(portfolio_id="42")) == {("portfolio_id", "string.uuid")}
    assert violations(identity_pb2.GetUserRequest(user_id="me")) == {("user_id", "string.uuid")}
    assert violations(trading_pb2.CancelOrderRequest()) == {("order_id", "required")}
    assert violations(trading_pb2.GetOrderRequest(order_id=ID)) == set()


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@example.com", "a b@example.com"])
def test_bad_emails_are_rejected(email: str) -> None:
    request = identity_pb2.RegisterRequest(email=email, password="correct horse", display_name="A")
    assert {path for path, _ in violations(request)} == {"email"}
    login = identity_pb2.LoginRequest(email=email, password="correct horse")
    assert {path for path, _ in violations(login)} == {"email"}


@pytest.mark.parametrize(
    ("password", "valid"),
    [("1234567", False), ("12345678", True), ("x" * 128, True), ("x" * 129, False), ("", False)],
)
def test_password_length(password: str, valid: bool) -> None:
    request = identity_pb2.RegisterRequest(
        email="ada@example.com", password=password, display_name="Ada"
    )
    assert (violations(request) == set()) is valid
    if not valid:
        assert {path for path, _ in violations(request)} == {"password"}


PAGED = [
    identity_pb2.ListUsersRequest,
    marketdata_pb2.SearchInstrumentsRequest,
    trading_pb2.ListOrdersRequest,
    trading_pb2.ListTradesRequest,
    portfolio_pb2.ListPortfoliosRequest,
    portfolio_pb2.ListPositionsRequest,
    notification_pb2.ListNotificationsRequest,
]


@pytest.mark.parametrize("request_type", PAGED, ids=lambda cls: cls.__name__)
def test_page_size_is_at_most_1000(request_type: type[Message]) -> None:
    base = request_type()
    if "query" in base.DESCRIPTOR.fields_by_name:
        base = request_type(query="apple")
    if "portfolio_id" in base.DESCRIPTOR.fields_by_name:
        base.portfolio_id = ID  # type: ignore[attr-defined]

    def with_size(size: int) -> Message:
        request = request_type()
        request.CopyFrom(base)
        request.page_size = size  # type: ignore[attr-defined]
        return request

    assert violations(with_size(1001)) == {("page_size", "int32.gte_lte")}
    assert violations(with_size(-1)) == {("page_size", "int32.gte_lte")}
    assert violations(with_size(1000)) == set()
    assert violations(with_size(0)) == set()


def test_stream_quotes_needs_distinct_valid_symbols() -> None:
    assert violations(marketdata_pb2.StreamQuotesRequest()) == {("symbols", "repeated.min_items")}
    duplicated = marketdata_pb2.StreamQuotesRequest(symbols=["AAPL", "AAPL"])
    assert violations(duplicated) == {("symbols", "repeated.unique")}
    lower = marketdata_pb2.StreamQuotesRequest(symbols=["AAPL", "msft"])
    assert violations(lower) == {("symbols", "string.pattern")}
    assert violations(marketdata_pb2.StreamQuotesRequest(symbols=["AAPL", "MSFT"])) == set()


def test_update_user_mask_names_updatable_fields_only() -> None:
    def update(*paths: str) -> identity_pb2.UpdateUserRequest:
        return identity_pb2.UpdateUserRequest(
            user_id=ID,
            user=identity_pb2.User(display_name="Ada"),
            update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
        )

    assert violations(update("display_name")) == set()
    assert violations(update("password_hash")) == {("update_mask", "field_mask.in")}
    assert violations(update()) == {("update_mask", "update_mask.not_empty")}
    bad_email = update("email")
    bad_email.user.email = "nope"
    assert violations(bad_email) == {("user.email", "string.email")}


def test_mark_read_needs_ids_or_all_but_not_both() -> None:
    assert violations(notification_pb2.MarkReadRequest(all=True)) == set()
    assert violations(notification_pb2.MarkReadRequest(notification_ids=[ID])) == set()
    assert violations(notification_pb2.MarkReadRequest()) == {("", "mark_read.target")}
    both = notification_pb2.MarkReadRequest(all=True, notification_ids=[ID])
    assert violations(both) == {("", "mark_read.target")}


def test_cash_amounts_are_valid_money() -> None:
    def reserve(amount: money_pb2.Money) -> portfolio_pb2.ReserveCashRequest:
        return portfolio_pb2.ReserveCashRequest(
            portfolio_id=ID, order_id=ID, user_id=ID, amount=amount
        )

    assert violations(reserve(money_pb2.Money(currency_code="USD", units=10))) == set()
    assert violations(reserve(money_pb2.Money(currency_code="USD", nanos=500_000_000))) == set()
    for bad in (
        money_pb2.Money(currency_code="USD"),
        money_pb2.Money(currency_code="usd", units=1),
        money_pb2.Money(currency_code="USD", units=-1),
    ):
        assert violations(reserve(bad)) == {("amount", "money.positive")}


def test_initial_cash_is_in_the_base_currency() -> None:
    eur = money_pb2.Money(currency_code="EUR", units=1000)
    assert violations(portfolio_pb2.CreatePortfolioRequest(name="Main", initial_cash=eur)) == {
        ("", "create_portfolio.initial_cash_currency")
    }
    same = portfolio_pb2.CreatePortfolioRequest(name="Main", base_currency="EUR", initial_cash=eur)
    assert violations(same) == set()


def test_time_ranges_are_ordered() -> None:
    backwards = types_pb2.TimeRange(
        start_time=timestamp_pb2.Timestamp(seconds=200),
        end_time=timestamp_pb2.Timestamp(seconds=100),
    )
    request = trading_pb2.ListOrdersRequest(create_time=backwards)
    assert violations(request) == {("create_time", "time_range.ordered")}


def test_settle_trade_rejects_a_zero_price() -> None:
    request = portfolio_pb2.SettleTradeRequest(
        portfolio_id=ID,
        trade_id=ID,
        order_id=ID,
        symbol="AAPL",
        side=types_pb2.SIDE_SELL,
        quantity="5",
        price="0",
        notional=money_pb2.Money(currency_code="USD", units=1),
        execute_time=timestamp_pb2.Timestamp(seconds=1),
    )
    assert violations(request) == {("price", "decimal.positive")}

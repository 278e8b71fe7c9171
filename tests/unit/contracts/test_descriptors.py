"""The generated contracts load, and hold the packages, services and RPCs of the design."""

from __future__ import annotations

from pathlib import Path

from google.protobuf.descriptor import FieldDescriptor
from trademesh.options.v1 import options_pb2

from tests.unit.contracts import catalog

PROTO_DIR = Path(__file__).resolve().parents[3] / "proto"

EXPECTED_RPCS = {
    "trademesh.identity.v1.IdentityService": {
        "Register", "Login", "Refresh", "Logout", "Validate", "GetMe", "GetUser",
        "UpdateUser", "DeleteUser", "ListUsers", "GetJwks",
    },
    "trademesh.marketdata.v1.MarketDataService": {
        "SearchInstruments", "GetInstrument", "GetQuote", "GetQuotes", "StreamQuotes",
    },
    "trademesh.trading.v1.TradingService": {
        "PlaceOrder", "CancelOrder", "GetOrder", "ListOrders", "ListTrades",
        "StreamOrderUpdates", "GetRiskLimits", "SetRiskLimits",
    },
    "trademesh.portfolio.v1.PortfolioService": {
        "CreatePortfolio", "GetPortfolio", "ListPortfolios", "UpdatePortfolio",
        "DeletePortfolio", "ListPositions", "GetPerformance", "ExportPortfolio",
        "WatchPortfolio", "ReserveCash", "ReleaseCash", "SettleTrade",
    },
    "trademesh.notification.v1.NotificationService": {
        "ListNotifications", "MarkRead", "StreamNotifications",
    },
}  # fmt: skip

EVENTS = {
    "trademesh.trading.v1.TradeExecuted": "trademesh/trading/v1/events.proto",
    "trademesh.trading.v1.OrderUpdated": "trademesh/trading/v1/events.proto",
    "trademesh.portfolio.v1.PortfolioUpdated": "trademesh/portfolio/v1/events.proto",
    "trademesh.identity.v1.SessionRevoked": "trademesh/identity/v1/events.proto",
    "trademesh.marketdata.v1.QuoteUpdated": "trademesh/marketdata/v1/events.proto",
}


def test_every_proto_file_has_a_loaded_module() -> None:
    on_disk = sorted(path.relative_to(PROTO_DIR).as_posix() for path in PROTO_DIR.rglob("*.proto"))
    loaded = sorted(file.name for file in catalog.files())
    assert loaded == on_disk


def test_one_package_per_domain_and_version_matching_its_folder() -> None:
    packages = {file.package for file in catalog.files()}
    assert packages == {
        *(f"trademesh.{domain}.v1" for domain in catalog.DOMAINS),
        "trademesh.common.v1",
        "trademesh.options.v1",
    }
    for file in catalog.files():
        assert file.name.rsplit("/", 1)[0] == file.package.replace(".", "/"), file.name


def test_services_and_rpcs_are_those_of_the_design() -> None:
    found = {
        service.full_name: {method.name for method in service.methods}
        for service in catalog.services()
    }
    assert found == EXPECTED_RPCS


def test_request_and_response_types_are_unique_per_rpc() -> None:
    seen: set[str] = set()
    for rpc in catalog.rpcs():
        request, response = rpc.method.input_type, rpc.method.output_type
        assert request.full_name == f"{request.file.package}.{rpc.short}Request"
        assert response.full_name == f"{response.file.package}.{rpc.short}Response"
        assert not {request.full_name, response.full_name} & seen
        seen |= {request.full_name, response.full_name}


def test_events_live_in_their_domain_with_id_time_and_correlation() -> None:
    for full_name, file_name in EVENTS.items():
        descriptor = catalog.message_class(full_name).DESCRIPTOR
        assert descriptor.file.name == file_name
        fields = descriptor.fields_by_name
        assert fields["event_id"].type == FieldDescriptor.TYPE_STRING
        assert fields["correlation_id"].type == FieldDescriptor.TYPE_STRING
        occurred_at = fields["occurred_at"]
        assert occurred_at.message_type is not None
        assert occurred_at.message_type.full_name == "google.protobuf.Timestamp"


def test_no_float_or_double_anywhere() -> None:
    floating = {FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE}
    offenders = [
        field.full_name
        for message in catalog.messages()
        for field in message.fields
        if field.type in floating
    ]
    assert offenders == []


def test_prices_and_quantities_are_decimal_strings_and_cash_is_money() -> None:
    decimal_words = ("price", "quantity", "_size", "volume", "_cost", "percent", "change")
    checked = 0
    for message in catalog.messages():
        for field in message.fields:
            if field.message_type is not None:
                if field.message_type.full_name == "google.type.Money":
                    checked += 1
                continue
            if field.type == FieldDescriptor.TYPE_ENUM:
                continue
            if field.name.endswith(decimal_words) and field.name not in {"page_size"}:
                assert field.type == FieldDescriptor.TYPE_STRING, field.full_name
                checked += 1
    assert checked > 20


def test_enums_start_with_an_unspecified_zero_value() -> None:
    for enum in catalog.enums():
        zero = enum.values_by_number[0]
        prefix = "".join(
            f"_{char}" if char.isupper() and index else char for index, char in enumerate(enum.name)
        ).upper()
        assert zero.name == f"{prefix}_UNSPECIFIED", enum.full_name


def test_custom_options_are_method_options_in_the_internal_range() -> None:
    for extension in (options_pb2.access, options_pb2.http_success_code, options_pb2.room):
        assert extension.containing_type.full_name == "google.protobuf.MethodOptions"
        assert 50000 <= extension.number < 100000
    fields = options_pb2.Access.DESCRIPTOR.fields_by_name
    assert fields["public"].type == FieldDescriptor.TYPE_BOOL
    assert fields["roles"].is_repeated
    assert fields["callers"].is_repeated

"""Message schemas follow the proto3 JSON mapping: what json_format writes validates, and what
it would never write does not."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from google.type import money_pb2
from trademesh.identity.v1 import identity_pb2
from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import trading_pb2

from edge.contracts import compiled_contracts
from edge.docs.comments import comments_from_files
from edge.docs.schemas import SchemaSet
from tests.unit.edge.docs._fill import fill
from tests.unit.edge.docs._validate import errors

EVERYTHING = "sample.v1.Everything"


def _everything(pool: descriptor_pool.DescriptorPool) -> Message:
    message = message_factory.GetMessageClass(pool.FindMessageTypeByName(EVERYTHING))()
    json_format.ParseDict(
        {
            "big": "-9007199254740993",
            "bigger": "18446744073709551615",
            "small": -3,
            "unsignedSmall": 4,
            "ratio": "NaN",
            "rough": 1.5,
            "flag": True,
            "text": "hi",
            "blob": "AAEC",
            "colour": "COLOUR_RED",
            "tags": ["a", "b"],
            "counts": {"x": "1"},
            "right": {"left": "deep", "children": [{"small": 1}]},
            "maybe": "",
            "when": "2026-01-02T03:04:05.123Z",
            "howLong": "1.5s",
            "mask": "big,howLong",
            "document": {"a": [1, {"b": None}]},
            "anything": [1, "two"],
            "wrappedBig": "5",
            "wrappedText": "",
            "nothing": {},
            "packed": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"},
            "list": [True, None],
            "inner": {"depth": 2},
        },
        message,
    )
    return message


@pytest.fixture(scope="module")
def sample_schemas(
    sample: descriptor_pool.DescriptorPool, sample_files: descriptor_pb2.FileDescriptorSet
) -> SchemaSet:
    schemas = SchemaSet(comments_from_files(sample_files.file))
    schemas.ref(sample.FindMessageTypeByName(EVERYTHING))
    return schemas


def test_what_json_format_writes_validates(
    sample: descriptor_pool.DescriptorPool, sample_schemas: SchemaSet
) -> None:
    written = json_format.MessageToDict(_everything(sample))
    assert errors(sample_schemas.schemas, EVERYTHING, written) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("big", 5),  # 64-bit integers are strings
        ("big", "five"),
        ("small", "3.5"),
        ("colour", "PURPLE"),
        ("tags", "a"),
        ("counts", {"x": 1}),
        ("when", "yesterday"),
        ("howLong", "90"),
        ("inner", {"depth": "deep"}),
        ("packed", {"value": "2s"}),  # an Any names its type
        ("nothing", {"a": 1}),
    ],
)
def test_what_the_mapping_never_writes_does_not_validate(
    sample_schemas: SchemaSet, field: str, value: Any
) -> None:
    assert errors(sample_schemas.schemas, EVERYTHING, {field: value}) != []


def test_oneof_members_exclude_each_other(sample_schemas: SchemaSet) -> None:
    schema = sample_schemas.schemas[EVERYTHING]
    assert schema["x-oneof"] == {"choice": ["left", "right"]}  # not the synthetic `_maybe`
    assert errors(sample_schemas.schemas, EVERYTHING, {"left": "a", "right": {}}) != []


def test_forms_of_scalars_and_well_known_types(sample_schemas: SchemaSet) -> None:
    properties = sample_schemas.schemas[EVERYTHING]["properties"]
    assert properties["big"]["type"] == "string" and properties["big"]["format"] == "int64"
    assert properties["bigger"]["format"] == "uint64"
    assert properties["blob"]["format"] == "byte"
    assert properties["colour"] == {"$ref": "#/components/schemas/sample.v1.Colour"}
    assert properties["when"] == {"type": "string", "format": "date-time"}
    assert properties["wrappedText"]["type"] == ["string", "null"]
    assert properties["wrappedBig"]["type"] == ["string", "null"]
    assert properties["counts"]["additionalProperties"]["format"] == "int64"
    assert properties["children"]["items"] == {"$ref": "#/components/schemas/sample.v1.Everything"}
    assert sample_schemas.schemas["sample.v1.Colour"]["enum"] == [
        "COLOUR_UNSPECIFIED",
        "COLOUR_RED",
    ]
    # Each message once, well-known types inline.
    assert set(sample_schemas.schemas) == {
        EVERYTHING,
        "sample.v1.Colour",
        "sample.v1.Everything.Inner",
    }


def test_comments_become_descriptions(sample_schemas: SchemaSet) -> None:
    schemas = sample_schemas.schemas
    assert schemas[EVERYTHING]["description"].startswith("Everything at once.")
    assert schemas[EVERYTHING]["properties"]["big"]["description"] == "A big count."
    assert schemas["sample.v1.Everything.Inner"]["properties"]["depth"]["description"] == (
        "How deep."
    )
    assert "- `COLOUR_RED`: Red, as blood." in schemas["sample.v1.Colour"]["description"]


def test_without_source_info_there_are_no_descriptions() -> None:
    schemas = SchemaSet()
    schemas.ref(trading_pb2.Order.DESCRIPTOR)
    assert "description" not in schemas.schemas["trademesh.trading.v1.Order"]


def _contract_schemas(*messages: type[Message]) -> SchemaSet:
    schemas = SchemaSet()
    for message in messages:
        schemas.ref(message.DESCRIPTOR)
    return schemas


def test_filled_contract_messages_validate() -> None:
    order = trading_pb2.Order(
        order_id="0b6f2a1e-7f5e-4a47-9a0b-5b0b9f0e2c11",
        user_id="9d7f2a1e-7f5e-4a47-9a0b-5b0b9f0e2c11",
        symbol="AAPL",
        side="SIDE_BUY",
        order_type="ORDER_TYPE_LIMIT",
        quantity="10",
        limit_price="150.25",
        status="ORDER_STATUS_PARTIALLY_FILLED",
        filled_quantity="4",
    )
    order.create_time.FromJsonString("2026-12-02T08:00:00Z")
    trade = trading_pb2.Trade(
        trade_id="1b6f2a1e-7f5e-4a47-9a0b-5b0b9f0e2c11",
        quantity="4",
        price="150.00",
        notional=money_pb2.Money(currency_code="USD", units=600, nanos=500_000_000),
    )
    portfolio = portfolio_pb2.Portfolio()
    json_format.ParseDict(
        {
            "portfolioId": "2b6f2a1e-7f5e-4a47-9a0b-5b0b9f0e2c11",
            "name": "Main",
            "cashBalance": {"currencyCode": "USD", "units": "1000", "nanos": 250000000},
            "createTime": "2026-12-02T08:00:00.5Z",
        },
        portfolio,
    )
    user = identity_pb2.User(user_id="3b6f2a1e-7f5e-4a47-9a0b-5b0b9f0e2c11", email="a@b.io")
    user.roles.append(identity_pb2.ROLE_TRADER)
    schemas = _contract_schemas(
        trading_pb2.Order, trading_pb2.Trade, portfolio_pb2.Portfolio, identity_pb2.User
    )
    for message in (order, trade, portfolio, user):
        written = json_format.MessageToDict(message)
        assert written, message.DESCRIPTOR.full_name
        assert errors(schemas.schemas, message.DESCRIPTOR.full_name, written) == []
    money = schemas.schemas["google.type.Money"]["properties"]
    assert money["units"]["format"] == "int64" and money["nanos"]["format"] == "int32"


def test_validation_rules_narrow_schemas() -> None:
    schemas = _contract_schemas(trading_pb2.PlaceOrderRequest, trading_pb2.RiskLimits)
    limits = schemas.schemas["trademesh.trading.v1.RiskLimits"]["properties"]
    assert limits["maxOrderQuantity"]["maxLength"] == 32
    assert limits["maxOrderQuantity"]["pattern"].startswith("^[0-9]")
    place = schemas.schemas["trademesh.trading.v1.PlaceOrderRequest"]
    assert "symbol" in place.get("required", [])
    assert errors(schemas.schemas, "trademesh.trading.v1.RiskLimits", {"maxOrderQuantity": "x"})


def test_every_message_of_the_contracts_filled_validates() -> None:
    # Every field without validation rules set (so `required` is not what is checked), for
    # the mapping of every shape the contracts use: scalars, enums, nesting, lists, maps and
    # well-known types.
    contracts = compiled_contracts()
    schemas = SchemaSet()
    for contract in contracts:
        schemas.ref(contract.input)
        schemas.ref(contract.output)
    shapes = {
        n: {k: v for k, v in s.items() if k != "required"} for n, s in schemas.schemas.items()
    }
    pool = descriptor_pool.Default()
    messages = [
        pool.FindMessageTypeByName(n) for n in schemas.schemas if "enum" not in schemas.schemas[n]
    ]
    for descriptor in messages:
        written = json_format.MessageToDict(fill(message_factory.GetMessageClass(descriptor)()))
        assert errors(shapes, descriptor.full_name, written) == [], descriptor.full_name
    assert len(messages) > 40

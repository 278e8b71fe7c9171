"""One table run against both implementations: every case is decoded and encoded by the edge
codec and by `google.protobuf.json_format`, and must give the same message and the same JSON;
every invalid case must be refused by both, ours naming the field."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2, timestamp_pb2, wrappers_pb2
from google.protobuf.message import Message
from trademesh.identity.v1 import identity_pb2
from trademesh.notification.v1 import notification_pb2
from trademesh.trading.v1 import trading_pb2

from edge.codec import CodecError, codec_for
from tests.unit.edge.codec._messages import NOTE, AllTypes, Closed, Inner

INNER_URL = "type.googleapis.com/codectest.Inner"

# (message class, JSON) accepted by both, with the same message as the result.
VALID: list[tuple[type[Message], Any]] = [
    # Scalars: numbers and decimal strings for integers, 64-bit as strings.
    (AllTypes, {"i32": 1, "u32": 4294967295, "s32": -2147483648, "f32": "7", "sf32": -1}),
    (AllTypes, {"i32": "1", "i64": "9223372036854775807", "u64": 18446744073709551615}),
    (AllTypes, {"i32": 1.0, "i64": "-9223372036854775808", "s64": "1e3", "sf64": -5}),
    (AllTypes, {"f64": "18446744073709551615", "u64": "0"}),
    (AllTypes, {"fl": 1.5, "db": 2.25}),
    (AllTypes, {"fl": 0.1, "db": 0.1}),
    (AllTypes, {"fl": "NaN", "db": "Infinity"}),
    (AllTypes, {"fl": "-Infinity", "db": "NaN"}),
    (AllTypes, {"fl": "1e39", "db": "1.5"}),
    (AllTypes, {"db": -0.0}),
    (AllTypes, {"db": 1e308, "fl": 3e38}),
    (AllTypes, {"flag": True, "text": "héllo ✓ 𝄞", "blob": "aGVsbG8="}),
    (AllTypes, {"blob": "aGVsbG8"}),  # padding optional
    (AllTypes, {"blob": "-_8="}),  # URL-safe alphabet
    (AllTypes, {"blob": "+/8="}),  # standard alphabet
    (AllTypes, {"blob": ""}),
    (AllTypes, {"flag": False, "text": "", "i32": 0}),  # defaults given explicitly
    # Enums: by name, by number, open enums keep unknown numbers.
    (AllTypes, {"color": "COLOR_RED"}),
    (AllTypes, {"color": 2}),
    (AllTypes, {"color": "1"}),
    (AllTypes, {"color": 7}),
    (AllTypes, {"r_color": ["COLOR_GREEN", 1, 9]}),
    (Closed, {"level": "LEVEL_HIGH", "count": 3}),
    (Closed, {"level": 1}),
    # Names: lowerCamelCase json_name, the proto name, a custom json_name.
    (AllTypes, {"snakeCaseName": "a"}),
    (AllTypes, {"snake_case_name": "a"}),
    (AllTypes, {"customJSON": "a"}),
    (AllTypes, {"custom": "a"}),
    (AllTypes, {"rI64": ["1"], "r_text": ["x"]}),
    # Repeated.
    (AllTypes, {"r_i64": ["1", 2, "-3"], "r_text": ["a", "b"], "r_flag": [True, False]}),
    (AllTypes, {"r_blob": ["AA==", "AQI="], "r_db": [1.5, "NaN"], "r_fl": [0.25]}),
    (AllTypes, {"r_inner": [{"name": "a"}, {}, {"children": [{"n": "1"}]}]}),
    (AllTypes, {"r_i64": []}),
    # Maps: keys are strings, converted by the key type.
    (AllTypes, {"m_str_i64": {"a": "1", "b": 2}, "m_i32_str": {"-5": "x", "7": ""}}),
    (AllTypes, {"m_u64_color": {"18446744073709551615": "COLOR_RED", "0": 2}}),
    (AllTypes, {"m_bool_inner": {"true": {"name": "t"}, "false": {}}}),
    (AllTypes, {"m_s64_bytes": {"-1": "AAE="}, "m_str_db": {"x": "Infinity", "y": 1}}),
    (AllTypes, {"m_str_value": {"a": None, "b": [1, "x"], "c": {"d": True}}}),
    (AllTypes, {"m_str_ts": {"a": "2020-01-01T00:00:00Z"}}),
    (AllTypes, {"mStrI64": {}}),
    # Oneofs, optional fields and nulls.
    (AllTypes, {"o_text": "a"}),
    (AllTypes, {"oInner": {"name": "x"}}),
    (AllTypes, {"o_i64": "5", "o_text": None}),
    (AllTypes, {"o_value": None}),  # a null Value is set, not cleared
    (AllTypes, {"o_text": None}),
    (AllTypes, {"o_text": ""}),  # a oneof member at its default is still set
    (AllTypes, {"optI32": 0, "opt_text": ""}),
    (AllTypes, {"null": None}),
    (AllTypes, {"null": "NULL_VALUE"}),
    (AllTypes, {"val": None}),
    (AllTypes, {"inner": None, "ts": None, "text": None, "r_i64": None, "m_str_i64": None}),
    (AllTypes, {"inner": {}}),  # an empty message is present
    (AllTypes, {"recursive": {"recursive": {"i32": 1, "inner": {"n": "2"}}}}),
    (AllTypes, {"inner": {"from": "a", "children": [{"from": "b"}]}}),
    # Timestamp.
    (AllTypes, {"ts": "2026-12-02T08:00:00Z"}),
    (AllTypes, {"ts": "2026-12-02T08:00:00.123Z"}),
    (AllTypes, {"ts": "2026-12-02T08:00:00.000123Z"}),
    (AllTypes, {"ts": "2026-12-02T08:00:00.123456789Z"}),
    (AllTypes, {"ts": "2026-12-02T08:00:00.1Z"}),
    (AllTypes, {"ts": "2026-12-02T08:00:00+01:30"}),
    (AllTypes, {"ts": "2026-12-02T08:00:00.5-05:00"}),
    (AllTypes, {"ts": "0001-01-01T00:00:00Z"}),
    (AllTypes, {"ts": "9999-12-31T23:59:59.999999999Z"}),
    (AllTypes, {"ts": "1969-12-31T23:59:59.5Z"}),
    (AllTypes, {"ts": "2024-02-29T12:00:00Z"}),
    (AllTypes, {"ts": "2020-1-1T00:00:00Z"}),
    (AllTypes, {"r_ts": ["1970-01-01T00:00:00Z", "2000-01-01T00:00:00.001Z"]}),
    # Duration.
    (AllTypes, {"dur": "1.5s"}),
    (AllTypes, {"dur": "-0.5s"}),
    (AllTypes, {"dur": "0s"}),
    (AllTypes, {"dur": "-3.000000001s"}),
    (AllTypes, {"dur": "315576000000s"}),
    (AllTypes, {"dur": "+1s"}),
    (AllTypes, {"dur": "1.0000000001s"}),
    # FieldMask.
    (AllTypes, {"mask": "a.bC,d"}),
    (AllTypes, {"mask": ""}),
    (AllTypes, {"r_mask": ["x", "y.zW"]}),
    # Struct, Value, ListValue.
    (AllTypes, {"st": {"a": [1, None, {"b": "c"}], "d": True, "e": 1.5, "f": {}}}),
    (AllTypes, {"st": {}}),
    (AllTypes, {"val": {"a": 1}}),
    (AllTypes, {"val": [1, "x", None, [], {}]}),
    (AllTypes, {"val": "s"}),
    (AllTypes, {"val": 3}),
    (AllTypes, {"val": False}),
    (AllTypes, {"lv": [1, "a", None, {"k": [True]}]}),
    (AllTypes, {"lv": []}),
    (AllTypes, {"r_val": [None, 1, "a"], "r_st": [{}, {"a": 1}], "r_lv": [[], [1]]}),
    # Wrappers.
    (AllTypes, {"w_i64": "5", "w_u64": "18446744073709551615", "w_i32": 7, "w_u32": 8}),
    (AllTypes, {"w_str": "", "w_bool": False, "w_bytes": "AA==", "w_db": "NaN", "w_fl": 0.5}),
    (AllTypes, {"w_i64": 0, "w_str": None}),
    (AllTypes, {"r_w_i64": ["1", 2], "r_w_str": ["a"]}),
    # Empty.
    (AllTypes, {"empty": {}, "r_empty": [{}, {}]}),
    # Any, resolved in the message's own pool.
    (AllTypes, {"any": {}}),
    (AllTypes, {"any": {"@type": INNER_URL, "name": "x", "n": "3"}}),
    (AllTypes, {"any": {"@type": INNER_URL}}),
    (
        AllTypes,
        {
            "any": {
                "@type": "type.googleapis.com/google.protobuf.Timestamp",
                "value": "2020-01-01T00:00:00Z",
            }
        },
    ),
    (AllTypes, {"any": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "5"}}),
    (
        AllTypes,
        {"any": {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {"a": [1]}}},
    ),
    (
        AllTypes,
        {
            "any": {
                "@type": "type.googleapis.com/google.protobuf.Any",
                "value": {"@type": INNER_URL, "n": 1},
            }
        },
    ),
    (
        AllTypes,
        {
            "any": {
                "@type": "type.googleapis.com/codectest.AllTypes",
                "ts": "2020-01-01T00:00:00Z",
                "m_str_i64": {"a": 1},
            }
        },
    ),
    (AllTypes, {"r_any": [{"@type": INNER_URL, "name": "a"}, {}]}),
    # JSON text quirks shared by both.
    (AllTypes, '{"text": "\\ud83d\\ude00"}'),  # an escaped surrogate pair
    (AllTypes, "{}"),
    # Well-known types at the top level.
    (timestamp_pb2.Timestamp, '"2026-12-02T08:00:00.5Z"'),
    (wrappers_pb2.Int64Value, '"12"'),
    (struct_pb2.Struct, '{"a": {"b": null}}'),
    (struct_pb2.Value, "[1, {}]"),
    (struct_pb2.ListValue, "[]"),
    # The project's own messages.
    (
        trading_pb2.PlaceOrderRequest,
        {
            "portfolioId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            "clientOrderId": "web-1",
            "symbol": "AAPL",
            "side": "SIDE_BUY",
            "orderType": "ORDER_TYPE_LIMIT",
            "quantity": "10",
            "limitPrice": "187.25",
            "timeInForce": "TIME_IN_FORCE_DAY",
        },
    ),
    (trading_pb2.PlaceOrderRequest, {"portfolio_id": "p", "order_type": 1, "side": "SIDE_SELL"}),
    (
        trading_pb2.PlaceOrderResponse,
        {
            "order": {
                "orderId": "o-1",
                "status": "ORDER_STATUS_FILLED",
                "createTime": "2026-12-02T08:00:00.123Z",
                "updateTime": "2026-12-02T08:00:01Z",
            }
        },
    ),
    (
        trading_pb2.ListOrdersRequest,
        {
            "statuses": ["ORDER_STATUS_OPEN", "ORDER_STATUS_FILLED"],
            "createTime": {"startTime": "2026-01-01T00:00:00Z"},
            "pageSize": 50,
        },
    ),
    (
        notification_pb2.Notification,
        {"attributes": {"order_id": "o-1", "symbol": "AAPL"}, "createTime": "2026-12-02T08:00:00Z"},
    ),
    (identity_pb2.UpdateUserRequest, {"user": {"displayName": "Ada"}, "updateMask": "displayName"}),
]

# (message class, JSON, the field our error names) refused by both.
INVALID: list[tuple[type[Message], Any, str]] = [
    (AllTypes, {"i32": 2**31}, "i32"),
    (AllTypes, {"u32": -1}, "u32"),
    (AllTypes, {"i32": 1.5}, "i32"),
    (AllTypes, {"i32": True}, "i32"),
    (AllTypes, {"i32": " 1"}, "i32"),
    (AllTypes, {"i64": "9223372036854775808"}, "i64"),
    (AllTypes, {"i64": "12abc"}, "i64"),
    (AllTypes, {"u64": "-1"}, "u64"),
    (AllTypes, {"i64": [1]}, "i64"),
    (AllTypes, {"sf32": "1.5"}, "sf32"),
    (AllTypes, {"fl": 1e39}, "fl"),
    (AllTypes, {"db": "nan"}, "db"),
    (AllTypes, {"db": "1.5x"}, "db"),
    (AllTypes, {"db": 10**400}, "db"),
    (AllTypes, '{"db": NaN}', "db"),
    (AllTypes, '{"fl": Infinity}', "fl"),
    (AllTypes, {"flag": "true"}, "flag"),
    (AllTypes, {"flag": 1}, "flag"),
    (AllTypes, {"text": 5}, "text"),
    (AllTypes, {"text": {"a": 1}}, "text"),
    (AllTypes, '{"text": "\\ud800"}', "text"),
    (AllTypes, {"blob": "a"}, "blob"),
    (AllTypes, {"blob": 5}, "blob"),
    (AllTypes, {"color": "COLOR_BLUE"}, "color"),
    (AllTypes, {"color": 2**31}, "color"),
    (AllTypes, {"color": [1]}, "color"),
    (Closed, {"level": 3}, "level"),
    (Closed, {"level": "LEVEL_NONE"}, "level"),
    (AllTypes, {"r_i64": 5}, "r_i64"),
    (AllTypes, {"r_i64": ["1", None]}, "r_i64[1]"),
    (AllTypes, {"r_i64": ["1", "x"]}, "r_i64[1]"),
    (AllTypes, {"r_inner": [{}, None]}, "r_inner[1]"),
    (AllTypes, {"r_inner": [{}, {"children": [{}, {}, {"n": "x"}]}]}, "r_inner[1].children[2].n"),
    (AllTypes, {"rInner": [{"bogus": 1}]}, "rInner[0].bogus"),
    (AllTypes, {"m_str_i64": []}, "m_str_i64"),
    (AllTypes, {"m_str_i64": {"a": None}}, "m_str_i64.a"),
    (AllTypes, {"m_str_i64": {"a": "x"}}, "m_str_i64.a"),
    (AllTypes, {"m_i32_str": {"x": "a"}}, "m_i32_str.x"),
    (AllTypes, {"m_i32_str": {"4294967296": "a"}}, "m_i32_str.4294967296"),
    (AllTypes, {"m_bool_inner": {"True": {}}}, "m_bool_inner.True"),
    (AllTypes, {"m_bool_inner": {"true": {"n": 1.5}}}, "m_bool_inner.true.n"),
    (AllTypes, {"m_bool_inner": {"true": None}}, "m_bool_inner.true"),
    (AllTypes, {"o_text": "a", "o_i64": "1"}, "o_i64"),
    (AllTypes, {"oInner": {}, "o_value": 1}, "o_value"),
    (AllTypes, {"inner": 5}, "inner"),
    (AllTypes, {"inner": {"bogus": 1}}, "inner.bogus"),
    (AllTypes, {"recursive": {"recursive": {"i32": "x"}}}, "recursive.recursive.i32"),
    (AllTypes, {"unknownField": 1}, "unknownField"),
    (AllTypes, {"SnakeCaseName": "a"}, "SnakeCaseName"),
    (AllTypes, {"ts": "2020-01-01t00:00:00Z"}, "ts"),
    (AllTypes, {"ts": "2020-02-30T00:00:00Z"}, "ts"),
    (AllTypes, {"ts": "2020-01-01T24:00:00Z"}, "ts"),
    (AllTypes, {"ts": "2020-01-01T00:00:60Z"}, "ts"),
    (AllTypes, {"ts": "2020-01-01T00:00:00.1234567891Z"}, "ts"),
    (AllTypes, {"ts": "2020-01-01T00:00:00"}, "ts"),
    (AllTypes, {"ts": "2020-01-01T00:00:00Zjunk"}, "ts"),
    (AllTypes, {"ts": 1577836800}, "ts"),
    (AllTypes, {"ts": {"seconds": 1}}, "ts"),
    (AllTypes, {"r_ts": ["2020-01-01T00:00:00Z", "x"]}, "r_ts[1]"),
    (AllTypes, {"m_str_ts": {"k": "x"}}, "m_str_ts.k"),
    (AllTypes, {"dur": "1"}, "dur"),
    (AllTypes, {"dur": "1s "}, "dur"),
    (AllTypes, {"dur": "315576000001s"}, "dur"),
    (AllTypes, {"dur": 1.5}, "dur"),
    (AllTypes, {"mask": "a_b"}, "mask"),
    (AllTypes, {"mask": ["a"]}, "mask"),
    (AllTypes, {"st": []}, "st"),
    (AllTypes, {"st": "x"}, "st"),
    (AllTypes, {"lv": {}}, "lv"),
    (AllTypes, {"w_i64": "x"}, "w_i64"),
    (AllTypes, {"w_bool": "true"}, "w_bool"),
    (AllTypes, {"w_i64": {"value": "1"}}, "w_i64"),
    (AllTypes, {"empty": {"a": 1}}, "empty.a"),
    (AllTypes, {"any": {"name": "x"}}, "any"),
    (AllTypes, {"any": {"@type": "type.googleapis.com/nope.Nope"}}, "any.@type"),
    (AllTypes, {"any": {"@type": INNER_URL, "bogus": 1}}, "any.bogus"),
    (AllTypes, {"any": {"@type": INNER_URL, "n": "x"}}, "any.n"),
    (
        AllTypes,
        {"any": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "x"}},
        "any.value",
    ),
    (AllTypes, {"any": "x"}, "any"),
    (AllTypes, '{"i32": 1, "i32": 2}', ""),
    (AllTypes, '{"i32": 1', ""),
    (AllTypes, "", ""),
    (AllTypes, "5", ""),
    (AllTypes, "null", ""),
    (AllTypes, '"text"', ""),
    (timestamp_pb2.Timestamp, "1", ""),
    (trading_pb2.PlaceOrderRequest, {"side": "SIDEWAYS"}, "side"),
    (trading_pb2.PlaceOrderRequest, {"quantity": 10}, "quantity"),
    (trading_pb2.PlaceOrderRequest, {"portfolioId": "p", "price": "1"}, "price"),
    (trading_pb2.PlaceOrderResponse, {"order": {"createTime": "yesterday"}}, "order.createTime"),
    (trading_pb2.ListOrdersRequest, {"statuses": ["ORDER_STATUS_OPEN", "NOPE"]}, "statuses[1]"),
    (trading_pb2.ListOrdersRequest, {"pageSize": "many"}, "pageSize"),
]

# Accepted by json_format, refused here on purpose: values of the wrong JSON type that
# json_format lets Python coerce, and one field given twice under its two names.
STRICTER: list[tuple[type[Message], Any, str]] = [
    (AllTypes, {"fl": True}, "fl"),
    (AllTypes, {"color": 1.0}, "color"),
    (AllTypes, {"color": True}, "color"),
    (AllTypes, {"snakeCaseName": "a", "snake_case_name": "b"}, "snake_case_name"),
    (AllTypes, "[]", ""),
    (AllTypes, {"inner": []}, "inner"),
]


def _text(case: Any) -> str:
    return case if isinstance(case, str) else json.dumps(case)


def _same(a: Message, b: Message) -> bool:
    # Bytes, not ==, so that NaN equals NaN.
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


def _pool(cls: type[Message]) -> Any:
    return cls.DESCRIPTOR.file.pool


@pytest.mark.parametrize(("cls", "case"), VALID, ids=[_text(c)[:60] for _, c in VALID])
def test_valid_json_decodes_and_encodes_as_json_format_does(cls: type[Message], case: Any) -> None:
    text = _text(case)
    codec = codec_for(cls.DESCRIPTOR)
    expected = json_format.Parse(text, cls(), descriptor_pool=_pool(cls))

    decoded = codec.decode(text.encode())

    assert type(decoded) is cls
    assert _same(decoded, expected), (decoded, expected)
    assert codec.to_dict(decoded) == json_format.MessageToDict(expected, descriptor_pool=_pool(cls))
    assert _same(codec.decode(codec.encode(decoded)), expected)
    merged = cls()
    codec.merge(json.loads(text), merged)
    assert _same(merged, expected)


@pytest.mark.parametrize(
    ("cls", "case", "field"), INVALID, ids=[_text(c)[:60] for _, c, _ in INVALID]
)
def test_invalid_json_is_refused_by_both_naming_the_field(
    cls: type[Message], case: Any, field: str
) -> None:
    text = _text(case)
    with pytest.raises(json_format.ParseError):
        json_format.Parse(text, cls(), descriptor_pool=_pool(cls))

    with pytest.raises(CodecError) as raised:
        codec_for(cls.DESCRIPTOR).decode(text.encode())

    assert raised.value.field == field
    assert raised.value.description


@pytest.mark.parametrize(
    ("cls", "case", "field"), STRICTER, ids=[_text(c)[:60] for _, c, _ in STRICTER]
)
def test_deliberately_stricter_than_json_format(cls: type[Message], case: Any, field: str) -> None:
    text = _text(case)
    json_format.Parse(text, cls(), descriptor_pool=_pool(cls))

    with pytest.raises(CodecError) as raised:
        codec_for(cls.DESCRIPTOR).decode(text.encode())

    assert raised.value.field == field


def _packed(message: Message) -> dict[str, Any]:
    url = f"type.googleapis.com/{message.DESCRIPTOR.full_name}"
    return {"type_url": url, "value": message.SerializeToString()}


def _with_note() -> Any:
    message: Any = Closed(level=2, count=-1)
    message.Extensions[NOTE] = "n"
    return message


# Messages built in Python, for what JSON input cannot produce.
OUTPUT: list[Message] = [
    AllTypes(),
    AllTypes(fl=0.1, db=-0.0, r_fl=[0.1, 1e-45, 3.4e38]),
    AllTypes(fl=math.inf, db=-math.inf, r_db=[math.nan, 1.0]),
    AllTypes(i64=-(2**63), u64=2**64 - 1, f64=1, s64=-1, sf64=2**62, r_u64=[0, 2**64 - 1]),
    AllTypes(color=42, r_color=[0, 1, 99]),  # unknown numbers of an open enum
    AllTypes(m_bool_inner={True: Inner(name="t"), False: Inner()}),
    AllTypes(m_u64_color={2**64 - 1: 1, 3: 77}, m_s64_bytes={-(2**63): b"\x00\xff"}),
    AllTypes(blob=bytes(range(256)), r_blob=[b"", b"\xfb\xff"]),
    AllTypes(text='\u0000\u001f"\\ 𝄞'),
    AllTypes(o_value={}),  # a Value with nothing set prints as null
    AllTypes(val={"null_value": 0}, w_i64={}),
    AllTypes(ts={"seconds": -62135596800}),
    AllTypes(ts={"seconds": 253402300799, "nanos": 999999999}),
    AllTypes(ts={"seconds": -1, "nanos": 1000}),
    AllTypes(
        r_ts=[{"seconds": s, "nanos": n} for s, n in [(0, 0), (86399, 10**6), (951782400, 5)]]
    ),
    AllTypes(
        dur={"seconds": -5, "nanos": -(10**6)}, r_dur=[{"seconds": 0, "nanos": -1}, {"seconds": 3}]
    ),
    AllTypes(mask={"paths": ["a.b_c", "d"]}),
    AllTypes(any=_packed(Inner(name="x", children=[Inner(n=1)]))),
    AllTypes(any=_packed(timestamp_pb2.Timestamp(seconds=5))),
    AllTypes(any=_packed(wrappers_pb2.BytesValue(value=b"\x01"))),
    AllTypes(any={"type_url": INNER_URL}),
    AllTypes(opt_i32=0, opt_text=""),
    AllTypes(o_text=""),
    AllTypes(recursive=AllTypes(recursive=AllTypes())),
    Closed(level=1),
]


@pytest.mark.parametrize("message", OUTPUT, ids=lambda m: str(m).replace("\n", " ")[:60] or "empty")
def test_messages_print_as_json_format_prints_them(message: Message) -> None:
    codec = codec_for(message.DESCRIPTOR)

    out = codec.to_dict(message)

    expected = json_format.MessageToDict(message, descriptor_pool=_pool(type(message)))
    assert json.dumps(out) == json.dumps(expected)  # the same keys in the same order
    # Back again, as json_format reads its own output (an unset Value comes back as null).
    again = json_format.Parse(
        json.dumps(expected), type(message)(), descriptor_pool=_pool(type(message))
    )
    assert _same(codec.decode(codec.encode(message)), again)


@pytest.mark.parametrize(
    "message",
    [
        AllTypes(ts={"seconds": 253402300800}),
        AllTypes(ts={"nanos": -1}),
        AllTypes(dur={"seconds": 1, "nanos": -1}),
        AllTypes(val={"number_value": math.inf}),
        AllTypes(mask={"paths": ["aB"]}),
        AllTypes(any={"type_url": "type.googleapis.com/nope.Nope", "value": b""}),
    ],
    ids=["ts-max", "ts-nanos", "dur-sign", "value-inf", "mask-camel", "any-unknown"],
)
def test_unprintable_messages_are_refused_by_both(message: Message) -> None:
    with pytest.raises((json_format.SerializeToJsonError, ValueError, TypeError)):
        json_format.MessageToDict(message, descriptor_pool=_pool(type(message)))

    with pytest.raises(CodecError) as raised:
        codec_for(message.DESCRIPTOR).to_dict(message)

    assert raised.value.field in {"ts", "dur", "val", "mask", "any", "any.@type"}


def test_extensions_print_as_json_format_prints_them_but_are_not_read() -> None:
    message = _with_note()
    codec = codec_for(Closed.DESCRIPTOR)

    expected = json_format.MessageToDict(message, descriptor_pool=_pool(Closed))
    assert (
        codec.to_dict(message)
        == expected
        == {"level": "LEVEL_HIGH", "count": -1, "[codectest.note]": "n"}
    )
    with pytest.raises(CodecError) as raised:
        codec.decode(json.dumps(expected))
    assert (raised.value.field, raised.value.description) == ("[codectest.note]", "unknown field")

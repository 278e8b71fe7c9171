"""The codec's API: decoding, merging all or nothing, encoding, errors naming the field,
descriptors from a pool of their own, and random messages round-tripped against json_format."""

from __future__ import annotations

import concurrent.futures
import importlib
import json
import pkgutil
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trademesh
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from trademesh.common.v1 import types_pb2
from trademesh.trading.v1 import trading_pb2

from edge.codec import CodecError, MessageCodec, _compile, codec_for
from tests.unit.edge.codec._messages import POOL, AllTypes, Inner
from tests.unit.edge.codec._random import fill


def test_codec_for_is_built_once_per_descriptor() -> None:
    first = codec_for(trading_pb2.Order.DESCRIPTOR)

    assert codec_for(trading_pb2.Order.DESCRIPTOR) is first
    assert isinstance(first, MessageCodec)
    assert first.message_class is trading_pb2.Order


def test_codec_error_is_a_value_error_naming_the_field() -> None:
    codec = codec_for(trading_pb2.PlaceOrderResponse.DESCRIPTOR)

    with pytest.raises(ValueError, match=r"order\.side") as raised:
        codec.decode(b'{"order": {"side": "SIDEWAYS"}}')

    assert isinstance(raised.value, CodecError)
    assert raised.value.field == "order.side"
    assert raised.value.description == (
        "not a valid enum value of trademesh.common.v1.Side: 'SIDEWAYS'"
    )


@pytest.mark.parametrize(
    ("data", "field", "description"),
    [
        (b'{"quantity": 10}', "quantity", "expected a string, got a number"),
        (b'{"bogus": 1}', "bogus", "unknown field"),
        (
            b'{"side": 1.5}',
            "side",
            "expected an enum name of trademesh.common.v1.Side, got a number",
        ),
    ],
)
def test_descriptions_say_what_is_wrong(data: bytes, field: str, description: str) -> None:
    with pytest.raises(CodecError) as raised:
        codec_for(trading_pb2.PlaceOrderRequest.DESCRIPTOR).decode(data)

    assert (raised.value.field, raised.value.description) == (field, description)


def test_int64_errors_ask_for_decimal_digits() -> None:
    with pytest.raises(CodecError) as raised:
        codec_for(AllTypes.DESCRIPTOR).decode(b'{"r_inner": [{}, {}, {"n": "12x"}]}')

    assert raised.value.field == "r_inner[2].n"
    assert raised.value.description.startswith("expected a string of decimal digits")


@pytest.mark.parametrize("data", [b"{", b"", b"\xff\xfe{}", b'{"a": 1} x', b"[" * 100_000])
def test_malformed_json_names_no_field(data: bytes) -> None:
    with pytest.raises(CodecError) as raised:
        codec_for(trading_pb2.Order.DESCRIPTOR).decode(data)

    assert raised.value.field == ""
    assert raised.value.description.startswith("malformed JSON: ")


def test_deeply_nested_messages_are_refused_not_crashed() -> None:
    text = '{"recursive": ' * 900 + "{}" + "}" * 900

    with pytest.raises(CodecError) as raised:
        codec_for(AllTypes.DESCRIPTOR).decode(text)

    assert raised.value.field == ""


def test_decode_takes_text_or_bytes() -> None:
    codec = codec_for(trading_pb2.Order.DESCRIPTOR)

    assert codec.decode('{"symbol": "AAPL"}') == codec.decode(b'{"symbol": "AAPL"}')
    assert codec.decode(b'{"symbol": "AAPL"}') == trading_pb2.Order(symbol="AAPL")


def test_encode_gives_compact_utf8_json() -> None:
    codec = codec_for(trading_pb2.Order.DESCRIPTOR)

    data = codec.encode(trading_pb2.Order(symbol="ÄPL", quantity="1", side=types_pb2.SIDE_BUY))

    assert data == '{"symbol":"ÄPL","side":"SIDE_BUY","quantity":"1"}'.encode()


def test_merge_sets_replaces_and_merges_as_json_format_does() -> None:
    codec = codec_for(AllTypes.DESCRIPTOR)
    start = AllTypes(
        i32=5,
        text="keep",
        r_i64=[1, 2],
        m_str_i64={"a": 1},
        inner=Inner(name="n", n=3, children=[Inner(), Inner()]),
        o_text="x",
    )
    value = {
        "i32": 0,
        "rI64": ["9"],
        "m_str_i64": {"b": 2},
        "inner": {"n": "4", "children": [{}]},
        "oI64": "7",
    }
    expected = AllTypes()
    expected.CopyFrom(start)
    json_format.ParseDict(value, expected, descriptor_pool=POOL)
    merged = AllTypes()
    merged.CopyFrom(start)

    codec.merge(value, merged)

    assert merged == expected
    assert merged.text == "keep" and merged.inner.name == "n" and merged.i32 == 0
    assert list(merged.r_i64) == [9] and len(merged.inner.children) == 1
    assert merged.WhichOneof("choice") == "o_i64"


def test_merge_of_null_clears_the_field() -> None:
    message = AllTypes(i32=3, inner=Inner(name="x"), text="t")

    codec_for(AllTypes.DESCRIPTOR).merge({"inner": None, "i32": None}, message)

    assert not message.HasField("inner") and message.i32 == 0 and message.text == "t"


def test_merge_is_all_or_nothing_and_prefixes_the_path() -> None:
    request = trading_pb2.PlaceOrderRequest(portfolio_id="p-1", symbol="AAPL")
    before = request.SerializeToString()

    with pytest.raises(CodecError) as raised:
        codec_for(trading_pb2.PlaceOrderRequest.DESCRIPTOR).merge(
            {"symbol": "MSFT", "quantity": "1", "side": "SIDEWAYS"}, request, "body"
        )

    assert raised.value.field == "body.side"
    assert request.SerializeToString() == before


def test_merge_refuses_a_body_that_is_not_an_object() -> None:
    with pytest.raises(CodecError) as raised:
        codec_for(trading_pb2.Order.DESCRIPTOR).merge(["x"], trading_pb2.Order(), "order")

    assert raised.value.field == "order"


def _reflected(descriptor: Descriptor) -> Descriptor:
    """The same type loaded into a fresh pool from serialized files, as server reflection gives
    it: no generated class exists for it."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: object) -> None:
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)  # type: ignore[attr-defined]
        if proto.name in added:
            return
        for dependency in file.dependencies:  # type: ignore[attr-defined]
            add(dependency)
        added.add(proto.name)
        pool.Add(proto)

    add(descriptor.file)
    return pool.FindMessageTypeByName(descriptor.full_name)


def test_descriptors_from_another_pool_work_without_generated_classes() -> None:
    descriptor = _reflected(trading_pb2.PlaceOrderResponse.DESCRIPTOR)
    assert descriptor.file.pool is not descriptor_pool.Default()
    codec = codec_for(descriptor)
    text = b'{"order":{"orderId":"o-1","side":"SIDE_SELL","createTime":"2026-12-02T08:00:00Z"}}'

    decoded = codec.decode(text)

    assert type(decoded) is message_factory.GetMessageClass(descriptor)
    assert type(decoded) is not trading_pb2.PlaceOrderResponse
    assert codec.encode(decoded) == text
    assert (
        decoded.SerializeToString()
        == json_format.Parse(text, trading_pb2.PlaceOrderResponse()).SerializeToString()
    )


def test_threads_compiling_the_same_type_at_once_all_get_complete_tables() -> None:
    descriptor = _reflected(trading_pb2.ListOrdersResponse.DESCRIPTOR)
    text = b'{"orders":[{"orderId":"o-1","createTime":"2026-12-02T08:00:00Z"}],"nextPageToken":"t"}'
    start = threading.Barrier(8)

    def decode() -> bytes:
        start.wait()
        codec = codec_for(descriptor)
        return codec.encode(codec.decode(text))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: decode(), range(8)))

    assert results == [text] * 8


def test_types_of_replaced_pools_do_not_pile_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_compile, "LIMIT", 50)
    text = b'{"order":{"orderId":"o-1","createTime":"2026-12-02T08:00:00Z"}}'
    codecs = []
    for _ in range(40):  # each refresh a new pool, as reflection gives
        codecs.append(codec_for(_reflected(trading_pb2.PlaceOrderResponse.DESCRIPTOR)))
        assert len(_compile._compiled) <= 50 + 10

    assert all(codec.encode(codec.decode(text)) == text for codec in codecs)


def _project_messages() -> Iterator[Descriptor]:
    for module_info in pkgutil.walk_packages(trademesh.__path__, "trademesh."):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(module_info.name)
        pending = list(module.DESCRIPTOR.message_types_by_name.values())
        while pending:
            descriptor = pending.pop()
            pending.extend(descriptor.nested_types)
            if not descriptor.GetOptions().map_entry:
                yield descriptor


PROJECT = sorted(_project_messages(), key=lambda d: d.full_name)


def test_the_project_has_messages_to_round_trip() -> None:
    assert len(PROJECT) > 50


def _same(a: Message, b: Message) -> bool:
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


def _round_trip_against_json_format(message: Message) -> None:
    codec = codec_for(message.DESCRIPTOR)
    pool: Any = message.DESCRIPTOR.file.pool
    expected = json_format.MessageToDict(message, descriptor_pool=pool)

    assert codec.to_dict(message) == expected
    text = codec.encode(message)
    assert json.loads(text) == json.loads(json.dumps(expected))
    reference = json_format.Parse(text, type(message)(), descriptor_pool=pool)
    assert _same(codec.decode(text), reference)


@pytest.mark.parametrize("descriptor", PROJECT, ids=lambda d: d.full_name)
def test_random_project_messages_round_trip_like_json_format(descriptor: Descriptor) -> None:
    rng = random.Random(descriptor.full_name)
    cls = message_factory.GetMessageClass(descriptor)
    for _ in range(20):
        _round_trip_against_json_format(fill(rng, cls()))


@pytest.mark.parametrize("seed", range(10))
def test_random_all_types_round_trip_like_json_format(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(30):
        _round_trip_against_json_format(fill(rng, AllTypes()))

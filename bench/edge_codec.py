"""The edge codec against `google.protobuf.json_format`, in µs per message each way.

A realistic PlaceOrderRequest (a limit buy, about 250 bytes of JSON) and PlaceOrderResponse
(the accepted order with its timestamps, about 450 bytes) are encoded and decoded by both,
interleaved A/B/A/B in one run so both see the same machine load; the median and best
round are printed, with the ratio of the medians.

    .venv/bin/python bench/edge_codec.py [--rounds 15] [--number 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from google.protobuf import json_format
from google.protobuf.message import Message
from trademesh.common.v1 import types_pb2
from trademesh.trading.v1 import trading_pb2

from edge.codec import codec_for


def request() -> trading_pb2.PlaceOrderRequest:
    return trading_pb2.PlaceOrderRequest(
        portfolio_id="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        client_order_id="web-7781",
        symbol="AAPL",
        side=types_pb2.SIDE_BUY,
        order_type=trading_pb2.ORDER_TYPE_LIMIT,
        quantity="100",
        limit_price="187.25",
        time_in_force=trading_pb2.TIME_IN_FORCE_DAY,
    )


def response() -> trading_pb2.PlaceOrderResponse:
    response = trading_pb2.PlaceOrderResponse(
        order=trading_pb2.Order(
            order_id="0f8e2b6c-4f1a-4c2e-9d7b-2a6f3e1c9b10",
            client_order_id="web-7781",
            user_id="5d3c1a2b-8e7f-4a6b-9c0d-1e2f3a4b5c6d",
            portfolio_id="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            symbol="AAPL",
            side=types_pb2.SIDE_BUY,
            order_type=trading_pb2.ORDER_TYPE_LIMIT,
            time_in_force=trading_pb2.TIME_IN_FORCE_DAY,
            quantity="100",
            limit_price="187.25",
            status=trading_pb2.ORDER_STATUS_OPEN,
            filled_quantity="0",
        )
    )
    response.order.create_time.FromJsonString("2026-12-02T08:00:00.123Z")
    response.order.update_time.FromJsonString("2026-12-02T08:00:00.456Z")
    return response


def per_call_us(function: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        function()
    return (time.perf_counter() - start) / number * 1e6


def cases(message: Message) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    cls = type(message)
    codec = codec_for(cls.DESCRIPTOR)
    text = codec.encode(message)
    assert codec.to_dict(message) == json_format.MessageToDict(message)
    assert codec.decode(text) == json_format.Parse(text, cls())
    return {
        "to_dict (message → dict)": (
            lambda: codec.to_dict(message),
            lambda: json_format.MessageToDict(message),
        ),
        "encode (message → JSON bytes, dumps included)": (
            lambda: codec.encode(message),
            lambda: json.dumps(json_format.MessageToDict(message)).encode(),
        ),
        "decode (JSON bytes → message, loads included)": (
            lambda: codec.decode(text),
            lambda: json_format.Parse(text, cls()),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()

    for message in (request(), response()):
        table = cases(message)
        for ours, theirs in table.values():
            per_call_us(ours, 200)
            per_call_us(theirs, 200)
        samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in table}
        for _ in range(args.rounds):
            for name, (ours, theirs) in table.items():
                samples[name][0].append(per_call_us(ours, args.number))
                samples[name][1].append(per_call_us(theirs, args.number))

        size = len(codec_for(message.DESCRIPTOR).encode(message))
        print(f"\n{message.DESCRIPTOR.full_name}: {size} bytes of JSON")
        print(f"{args.rounds} interleaved rounds of {args.number} calls, µs per message")
        print(f"{'':46} {'edge.codec':>17} {'json_format':>17} {'speed-up':>9}")
        print(f"{'':46} {'median':>8} {'best':>8} {'median':>8} {'best':>8} {'median':>9}")
        for name, (ours_us, theirs_us) in samples.items():
            a, b = statistics.median(ours_us), statistics.median(theirs_us)
            print(
                f"{name:46} {a:8.2f} {min(ours_us):8.2f} {b:8.2f} {min(theirs_us):8.2f}"
                f" {b / a:8.1f}x"
            )


if __name__ == "__main__":
    main()

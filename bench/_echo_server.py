"""A trivial grpc.aio server for client-side benchmarks, run as its own process so the server's
work is not charged to the client being measured.

`/bench.Echo/Unary` answers the request bytes back; `/bench.Echo/Stream` takes a count in
ASCII and sends that many 16-byte messages. Raw bytes, no protobuf: what is measured is the
call machinery. It listens on `--ports` plaintext ports of 127.0.0.1 (each a different
"instance" to a balancing client), prints `PORTS <p1> <p2> ...` once serving, and stops when
its stdin closes or on SIGTERM.

    .venv/bin/python -m bench._echo_server [--ports 2]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator

import grpc

UNARY = "/bench.Echo/Unary"
STREAM = "/bench.Echo/Stream"
MESSAGE = b"0123456789abcdef"


async def unary(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


async def stream(
    request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    for _ in range(int(request)):
        yield MESSAGE


HANDLER = grpc.method_handlers_generic_handler(
    "bench.Echo",
    {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
    },
)


async def serve(count: int) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((HANDLER,))
    ports = [server.add_insecure_port("127.0.0.1:0") for _ in range(count)]
    await server.start()
    print("PORTS", *ports, flush=True)

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)

    def stdin_readable() -> None:
        if not sys.stdin.read(1):
            done.set()

    loop.add_reader(sys.stdin.fileno(), stdin_readable)
    await done.wait()
    await server.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ports", type=int, default=2)
    asyncio.run(serve(parser.parse_args().ports))


if __name__ == "__main__":
    main()

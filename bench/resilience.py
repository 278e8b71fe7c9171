"""What the resilient mesh client costs per call: its decisions alone, then whole calls.

1. Microbenchmarks, no network: `InstancePool.pick()` + `succeeded()` for each balancer over 2
   and 10 instances (all breakers closed, or one instance ejected), the circuit breaker's
   `success()`/`failure()`, the retry budget, the bulkhead, and all of a unary call's
   bookkeeping together; ns per operation, median and best of interleaved rounds. Then whole
   calls (unary, and a server stream of 100 messages) through `BalancedChannel` over instance
   channels that answer at once, against awaiting those answers directly: all the layer adds
   to a call, in µs.
2. Calls over loopback to a trivial grpc.aio server in its own process, interleaved
   A/B1/B2 in each round: (A) a bare `grpc.aio.insecure_channel`, (B1/B2) `BalancedChannel`
   over an `Upstream` of one and two instances, with no client interceptors so that only the
   resilience layer differs. Unary µs/call at 1 in flight, calls/s at 32 in flight, server
   stream messages/s; the client's CPU µs per call; B/A ratios taken within each round.

    .venv/bin/python -m bench.resilience [--rounds 9] [--number 20000] [--seconds 0.8]
        [--only micro|calls]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _resilience_calls, _resilience_layer, _resilience_micro


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds, both parts")
    parser.add_argument("--number", type=int, default=20000, help="operations per micro round")
    parser.add_argument("--seconds", type=float, default=0.8, help="per variant, mode, round")
    parser.add_argument("--only", choices=("micro", "calls"))
    args = parser.parse_args()
    # The microbenchmarks eject instances on purpose; their warnings are not news.
    logging.getLogger("mesh").setLevel(logging.ERROR)

    if args.only != "calls":
        _resilience_micro.run(args.rounds, args.number)
        _resilience_layer.run(args.rounds, args.number)
    if args.only != "micro":
        _resilience_calls.run(args.rounds, args.seconds)


if __name__ == "__main__":
    main()

"""RepeatFilter folds a library's repeated reconnect errors and leaves other records alone."""

from __future__ import annotations

import logging

from mesh.observability.quiet import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_pass_once_per_interval_with_a_count() -> None:
    clock = Clock()
    quiet = RepeatFilter({"aiokafka": 30.0}, now=clock)
    unable = "Unable connect to node with id %s: %s"
    assert quiet.filter(_record("aiokafka.client", unable, 1, "refused"))
    held = [quiet.filter(_record("aiokafka.client", unable, 1, "refused")) for _ in range(40)]
    assert not any(held)
    clock.now = 31.0
    record = _record("aiokafka.client", unable, 1, "refused")
    assert quiet.filter(record)
    assert "40 more like it" in record.getMessage()


def test_other_loggers_and_other_messages_pass() -> None:
    quiet = RepeatFilter({"aiokafka": 30.0}, now=Clock())
    for _ in range(3):
        assert quiet.filter(_record("trading.saga", "order %s filled", "o1"))
        assert quiet.filter(_record("aiokafkaesque", "not the library"))
    assert quiet.filter(_record("aiokafka.conn", "first"))
    assert quiet.filter(_record("aiokafka.conn", "second"))

"""Prometheus metrics of the outbox relay, producers and consumers, one set per registry."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge


@dataclass(frozen=True, slots=True)
class EventMetrics:
    outbox_pending: Gauge
    outbox_published: Counter
    outbox_publish_failures: Counter
    produced: Counter
    consumer_applied: Counter
    consumer_failed: Counter
    consumer_dead_lettered: Counter
    consumer_lag: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> EventMetrics:
        return cls(
            outbox_pending=Gauge(
                "trademesh_outbox_pending",
                "Outbox rows not yet acknowledged by Kafka.",
                ("source",),
                registry=registry,
            ),
            outbox_published=Counter(
                "trademesh_outbox_published_total",
                "Outbox rows published to Kafka and marked sent.",
                ("source", "topic"),
                registry=registry,
            ),
            outbox_publish_failures=Counter(
                "trademesh_outbox_publish_failures_total",
                "Relay rounds that could not publish (Kafka unreachable or refusing).",
                ("source",),
                registry=registry,
            ),
            produced=Counter(
                "trademesh_events_produced_total",
                "Events published directly (not through an outbox).",
                ("source", "topic"),
                registry=registry,
            ),
            consumer_applied=Counter(
                "trademesh_consumer_applied_total",
                "Records whose handler returned.",
                ("group", "topic"),
                registry=registry,
            ),
            consumer_failed=Counter(
                "trademesh_consumer_failed_total",
                "Handler attempts that raised.",
                ("group", "topic"),
                registry=registry,
            ),
            consumer_dead_lettered=Counter(
                "trademesh_consumer_dead_lettered_total",
                "Records sent to the dead-letter topic.",
                ("group", "topic", "reason"),
                registry=registry,
            ),
            consumer_lag=Gauge(
                "trademesh_consumer_lag",
                "Records between the consumer's position and the partition's high watermark.",
                ("group", "topic", "partition"),
                registry=registry,
            ),
        )


_metrics: weakref.WeakKeyDictionary[CollectorRegistry, EventMetrics] = weakref.WeakKeyDictionary()


def event_metrics(registry: CollectorRegistry | None = None) -> EventMetrics:
    registry = REGISTRY if registry is None else registry
    metrics = _metrics.get(registry)
    if metrics is None:
        metrics = _metrics[registry] = EventMetrics.create(registry)
    return metrics

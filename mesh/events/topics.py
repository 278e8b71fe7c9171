"""Every Kafka topic of the mesh in one table: partitions, message type, key, compaction,
retention; and `ensure_topics`, which creates them (and their dead-letter topics) at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from google.protobuf.message import Message
from trademesh.identity.v1 import events_pb2 as identity_events
from trademesh.marketdata.v1 import events_pb2 as marketdata_events
from trademesh.portfolio.v1 import events_pb2 as portfolio_events
from trademesh.trading.v1 import events_pb2 as trading_events

from mesh.events.config import EventsConfig

logger = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic: its records carry `message_type`, keyed as `key` describes."""

    name: str
    partitions: int
    message_type: type[Message]
    key: str  # what the record key is, e.g. "portfolio id": it gives per-entity ordering
    compacted: bool = False
    retention_ms: int = 7 * _DAY_MS  # -1 keeps records for ever

    @property
    def event_type(self) -> str:
        """The CloudEvents `ce_type`: the message's full protobuf name."""
        return self.message_type.DESCRIPTOR.full_name

    @property
    def dlq(self) -> str:
        """The dead-letter topic records of this topic go to when they cannot be applied."""
        return dlq_name(self.name)


def dlq_name(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


SESSIONS = Topic(
    "identity.sessions.v1",
    3,
    identity_events.SessionRevoked,
    key="user id",
    # Verifiers read it from the start; a revocation matters only until the access tokens
    # of the session expire (minutes), so a day is ample.
    retention_ms=_DAY_MS,
)
QUOTES = Topic(
    "marketdata.quotes.v1",
    6,
    marketdata_events.QuoteUpdated,
    key="symbol",
    compacted=True,  # the latest quote per symbol is what matters
    retention_ms=_DAY_MS,
)
ORDERS = Topic("trading.orders.v1", 6, trading_events.OrderUpdated, key="user id")
TRADES = Topic("trading.trades.v1", 6, trading_events.TradeExecuted, key="portfolio id")
PORTFOLIO_UPDATES = Topic(
    "portfolio.updates.v1", 6, portfolio_events.PortfolioUpdated, key="portfolio id"
)

TOPICS: tuple[Topic, ...] = (SESSIONS, QUOTES, ORDERS, TRADES, PORTFOLIO_UPDATES)

_BY_NAME = {topic.name: topic for topic in TOPICS}
_BY_EVENT_TYPE: dict[str, type[Message]] = {t.event_type: t.message_type for t in TOPICS}


def topic_named(name: str) -> Topic:
    """The table's topic called `name`; KeyError naming the known topics otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}; known: {sorted(_BY_NAME)}") from None


def message_type_for(event_type: str) -> type[Message] | None:
    """The message class for a `ce_type` carried by any topic of the table, or None."""
    return _BY_EVENT_TYPE.get(event_type)


def _new_topics(topic: Topic, replication: int) -> list[NewTopic]:
    configs = {
        "cleanup.policy": "compact" if topic.compacted else "delete",
        "retention.ms": str(topic.retention_ms),
    }
    return [
        NewTopic(topic.name, topic.partitions, replication, topic_configs=configs),
        # Dead letters are kept long enough for someone to look at them; never compacted.
        NewTopic(topic.dlq, topic.partitions, replication, topic_configs={"retention.ms": "-1"}),
    ]


async def ensure_topics(
    config: EventsConfig,
    topics: Iterable[Topic] = TOPICS,
    *,
    timeout_seconds: float = 60.0,
) -> None:
    """Create each topic and its `<topic>.dlq` unless it exists; return once the broker lists
    them all. Safe to run from every instance at every start.

    Raises `KafkaError` (or `TimeoutError`) when the broker cannot be reached in time.
    """
    wanted = [new for topic in topics for new in _new_topics(topic, config.replication_factor)]
    names = {new.name for new in wanted}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.bootstrap_servers,
        client_id=f"{config.client_id}-admin",
        request_timeout_ms=config.request_timeout_ms,
    )
    async with asyncio.timeout(timeout_seconds):
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [new for new in wanted if new.name not in existing]
            if missing:
                result = await admin.create_topics(missing)
                for name, code, message in getattr(result, "topic_errors", []):
                    if code not in (0, TopicAlreadyExistsError.errno):
                        raise KafkaError(f"creating topic {name} failed: error {code} {message}")
                logger.info("created topics %s", sorted(new.name for new in missing))
            # The controller answers before every broker's metadata has the topics.
            while not names <= set(await admin.list_topics()):
                await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

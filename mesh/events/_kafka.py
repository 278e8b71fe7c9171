"""Building and closing aiokafka clients the same way everywhere in the event bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer

from mesh.events.config import EventsConfig

logger = logging.getLogger(__name__)


def new_producer(config: EventsConfig, name: str) -> AIOKafkaProducer:
    """An idempotent producer (acks=all, retries inside the request timeout)."""
    return AIOKafkaProducer(
        bootstrap_servers=config.bootstrap_servers,
        client_id=f"{config.client_id}-{name}",
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=config.request_timeout_ms,
        linger_ms=5,
    )


async def start_or_close(client: Any) -> None:
    """Start an aiokafka client; when that fails (or is cancelled) close what it opened."""
    try:
        await client.start()
    except BaseException:
        await close_quietly(client, 5.0)
        raise


async def close_quietly(client: Any, timeout_seconds: float) -> None:
    """Stop an aiokafka client within `timeout_seconds`; an unreachable broker does not hold
    the caller up longer, and errors on the way out are only logged.

    A producer that cannot flush in time is torn down: its pending records are dropped
    rather than left to be delivered later, behind the caller's back.
    """
    task = asyncio.ensure_future(client.stop())
    try:
        async with asyncio.timeout(timeout_seconds):
            await asyncio.shield(task)
    except TimeoutError:
        task.cancel()
        logger.warning("closing %s timed out after %ss", type(client).__name__, timeout_seconds)
        await _tear_down(client)
    except asyncio.CancelledError:
        task.cancel()
        await _tear_down(client)
        raise
    except Exception:
        logger.warning("closing %s failed", type(client).__name__, exc_info=True)
    with contextlib.suppress(BaseException):
        if task.done() and not task.cancelled():
            task.exception()


async def _tear_down(client: Any) -> None:
    # aiokafka's producer has no abort; its sender task is what would deliver the rest.
    sender = getattr(getattr(client, "_sender", None), "sender_task", None)
    if sender is not None and not sender.done():
        sender.cancel()
    inner = getattr(client, "client", None) or getattr(client, "_client", None)
    if inner is not None:
        with contextlib.suppress(Exception):
            await asyncio.shield(inner.close())

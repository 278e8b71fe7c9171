"""A tiny blocking HTTP GET for readiness probes, run off the event loop."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from mesh.infra.components.base import NotReady


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise NotReady(f"GET {url}: {getattr(exc, 'reason', exc)}") from None


async def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    return await asyncio.to_thread(_get, url, timeout)

"""The faults and what the tests read back: freezing a service process (SIGSTOP/SIGCONT),
an instance's own server metrics (its `metrics_port` in Consul), the edge's mesh client
metrics (breaker states, retries, ejections, shed calls), and the edge's resident memory."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mesh.discovery import ConsulClient, Instance
from mesh.infra import Consul
from tests.integration.services._process import ServiceProcess

# mesh_client_breaker_state's values.
BREAKER_STATES = {0: "closed", 1: "half_open", 2: "open"}
Samples = dict[str, list[tuple[dict[str, str], float]]]


@contextlib.contextmanager
def frozen(process: ServiceProcess) -> Iterator[None]:
    """SIGSTOP: the process keeps its sockets (connections are accepted by the kernel) but
    answers nothing; SIGCONT on the way out, whatever happened."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


async def passing_pids(consul: Consul, service: str) -> set[int]:
    """The pids of the instances of `service` Consul has passing."""
    async with ConsulClient(consul.address) as client:
        _, instances = await client.healthy(service)
    return {int(i.meta["pid"]) for i in instances if i.meta.get("pid", "").isdigit()}


async def instance_of(consul: Consul, process: ServiceProcess) -> Instance:
    """`process` as Consul has it passing now (its address, and its metrics port in meta)."""
    async with ConsulClient(consul.address) as client:
        _, instances = await client.healthy(process.name)
    for instance in instances:
        if instance.meta.get("pid") == str(process.pid):
            return instance
    raise AssertionError(f"{process.name} pid {process.pid} is not passing in Consul")


def metrics_url(instance: Instance) -> str:
    return f"http://{instance.host}:{instance.meta['metrics_port']}/metrics"


async def scrape(url: str) -> Samples:
    """A Prometheus endpoint's samples by sample name: (labels, value) each."""
    async with httpx.AsyncClient(timeout=5.0) as http:
        response = await http.get(url)
    response.raise_for_status()
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


async def handled(url: str, grpc_service: str) -> float:
    """`grpc_server_handled_total` of one instance, summed over the methods of `grpc_service`
    (e.g. trademesh.marketdata.v1.MarketDataService) and every code."""
    samples = await scrape(url)
    return sum(
        value
        for labels, value in samples.get("grpc_server_handled_total", [])
        if labels.get("grpc_service") == grpc_service
    )


async def breaker_states(edge_url: str, address: str) -> set[str]:
    """The breaker states the edge's mesh client holds for the instance at `address`
    (`mesh_client_breaker_state` on the edge's /metrics)."""
    samples = await scrape(f"{edge_url}/metrics")
    return {
        BREAKER_STATES.get(int(value), str(value))
        for labels, value in samples.get("mesh_client_breaker_state", [])
        if labels.get("address") == address
    }


async def calls_in_flight(edge_url: str) -> float:
    """Unary calls the edge's mesh client has in flight, over its upstreams
    (`mesh_client_in_flight{kind="calls"}`: what its bulkheads count)."""
    samples = await scrape(f"{edge_url}/metrics")
    return sum(
        value
        for labels, value in samples.get("mesh_client_in_flight", [])
        if labels.get("kind") == "calls"
    )


COUNTERS = ("retries", "retry_budget_exhausted", "ejections", "probes", "shed")


async def client_counters(edge_url: str) -> dict[str, float]:
    """The resilience counters of the edge's mesh client (`mesh_client_<name>_total`),
    summed over its upstreams."""
    samples = await scrape(f"{edge_url}/metrics")
    return {
        name: sum(value for _, value in samples.get(f"mesh_client_{name}_total", []))
        for name in COUNTERS
    }


def grown(before: dict[str, float], after: dict[str, float]) -> str:
    """What the counters grew by, for a figure: `retries 3, ejections 1`."""
    return ", ".join(f"{name} {after[name] - before[name]:.0f}" for name in COUNTERS)


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` (VmRSS of /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")

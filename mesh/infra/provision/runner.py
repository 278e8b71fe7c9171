"""Run the provisioning steps in order, one line of output per step with its duration."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from mesh.infra import paths
from mesh.infra.provision.apt import NGINX, POSTGRES
from mesh.infra.provision.buf import BufStep
from mesh.infra.provision.consul import ConsulStep
from mesh.infra.provision.grpcurl import GrpcurlStep
from mesh.infra.provision.kafka import KafkaStep
from mesh.infra.provision.node_packages import STEPS as NODE_PACKAGE_STEPS
from mesh.infra.provision.step import Context, ProvisionError, Step

STEPS: tuple[Step, ...] = (
    NGINX,
    POSTGRES,
    KafkaStep(),
    BufStep(),
    GrpcurlStep(),
    ConsulStep(),
    *NODE_PACKAGE_STEPS,
)


def default_context() -> Context:
    cache = paths.cache_root()
    return Context(cache=cache, logs=cache / "logs", repo=paths.repo_root())


def provision(
    only: Sequence[str] | None = None,
    *,
    ctx: Context | None = None,
    say: Callable[[str], None] = print,
) -> float:
    """Check every step, install what is missing; returns the total seconds taken."""
    ctx = ctx or default_context()
    wanted = [s for s in STEPS if not only or s.name in only]
    unknown = set(only or ()) - {s.name for s in STEPS}
    if unknown:
        raise ProvisionError(
            "provision", f"unknown step(s) {sorted(unknown)}; known: {[s.name for s in STEPS]}"
        )
    began = time.monotonic()
    for step in wanted:
        t0 = time.monotonic()
        problem = step.check(ctx)
        if problem is None:
            say(f"✓ {step.name:<8} {step.version:<8} cached ({time.monotonic() - t0:.1f}s)")
            continue
        if problem != "not installed":
            say(f"… {step.name:<8} {step.version:<8} cached copy unusable ({problem}); rebuilding")
        description = step.install(ctx)
        after = step.check(ctx)
        if after is not None:
            raise ProvisionError(
                step.name, f"installed but fails verification: {after}", step.log_path(ctx)
            )
        say(f"✓ {step.name:<8} {step.version:<8} {description} ({time.monotonic() - t0:.1f}s)")
    return time.monotonic() - began

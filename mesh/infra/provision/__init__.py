"""Install every external tool the project needs, pinned, cached and verified."""

from __future__ import annotations

from mesh.infra.provision.runner import STEPS, provision
from mesh.infra.provision.step import Context, ProvisionError, Step

__all__ = ["STEPS", "Context", "ProvisionError", "Step", "provision"]

"""Refusing early at the edge what the service's auth interceptor would refuse anyway, by the
same access option and with the same reasons; the service still checks again."""

from __future__ import annotations

import grpc

from edge.auth.refusals import refusal, token_missing
from mesh.context import Principal
from mesh.options import AccessRule

# The mesh name the edge's certificate carries: what a service-only rule sees as its caller.
EDGE_SERVICE = "edge"


def authorize(
    principal: Principal | None, access: AccessRule | None, *, method: str = "this method"
) -> None:
    """Raise `EdgeError` (401/403) unless `principal` may call a method with rule `access`;
    `method` names it in the message (e.g. `/trademesh.trading.v1.TradingService/PlaceOrder`)."""
    if access is None:
        raise refusal(
            grpc.StatusCode.PERMISSION_DENIED,
            "ACCESS_RULE_MISSING",
            f"{method} declares no access rule",
        )
    if access.public:
        return
    if access.callers:
        raise refusal(
            grpc.StatusCode.PERMISSION_DENIED,
            "CALLER_NOT_ALLOWED",
            f"service {EDGE_SERVICE} may not call {method}",
            caller=EDGE_SERVICE,
        )
    if principal is None:
        raise token_missing()
    if access.roles and not principal.roles & access.roles:
        required = ", ".join(sorted(access.roles))
        raise refusal(
            grpc.StatusCode.PERMISSION_DENIED,
            "ROLE_REQUIRED",
            f"{method} requires one of the roles {required}",
            required_roles=",".join(sorted(access.roles)),
        )

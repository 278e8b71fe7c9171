"""authorize: the edge refuses early, by the access option, what the service would refuse."""

from __future__ import annotations

import pytest

from edge.auth import authorize
from edge.errors import EdgeError
from mesh.context import Principal
from mesh.options import PUBLIC, AccessRule
from tests.unit.edge.auth.conftest import reason_of

METHOD = "/trademesh.trading.v1.TradingService/PlaceOrder"
TRADER = Principal(user_id="u1", session_id="s1", roles=frozenset({"trader"}), token="t")
VIEWER = Principal(user_id="u2", session_id="s2", roles=frozenset({"viewer"}), token="t")


def refusal(
    principal: Principal | None, access: AccessRule | None
) -> tuple[int, str, dict[str, str], str]:
    with pytest.raises(EdgeError) as info:
        authorize(principal, access, method=METHOD)
    status, reason, metadata = reason_of(info.value)
    return status, reason, metadata, info.value.status.message


def test_public_methods_admit_anyone() -> None:
    authorize(None, PUBLIC)
    authorize(VIEWER, PUBLIC)


def test_any_signed_in_user_when_no_roles_are_listed() -> None:
    authorize(VIEWER, AccessRule())
    assert refusal(None, AccessRule())[:2] == (401, "TOKEN_MISSING")


def test_a_role_rule_needs_one_of_its_roles() -> None:
    rule = AccessRule(roles=frozenset({"trader", "admin"}))
    authorize(TRADER, rule)
    assert refusal(VIEWER, rule) == (
        403,
        "ROLE_REQUIRED",
        {"required_roles": "admin,trader"},
        f"{METHOD} requires one of the roles admin, trader",
    )
    assert refusal(None, rule)[:2] == (401, "TOKEN_MISSING")


def test_service_only_and_undeclared_methods_are_refused_to_everyone() -> None:
    service_only = AccessRule(callers=frozenset({"trading"}))
    assert refusal(TRADER, service_only)[:3] == (403, "CALLER_NOT_ALLOWED", {"caller": "edge"})
    assert refusal(TRADER, None)[:2] == (403, "ACCESS_RULE_MISSING")

"""idempotency_level tells the mesh client which calls it may retry."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from tests.unit.contracts import catalog

NO_SIDE_EFFECTS = descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS
IDEMPOTENT = descriptor_pb2.MethodOptions.IDEMPOTENT
UNKNOWN = descriptor_pb2.MethodOptions.IDEMPOTENCY_UNKNOWN

READ_PREFIXES = ("Get", "List", "Search", "Stream", "Watch", "Export")
EXPECTED_IDEMPOTENT = {
    "Logout", "UpdateUser", "DeleteUser", "PlaceOrder", "CancelOrder", "SetRiskLimits",
    "UpdatePortfolio", "DeletePortfolio", "ReserveCash", "ReleaseCash", "SettleTrade",
    "MarkRead",
}  # fmt: skip
# Not retry-safe: a retry would create a second user or session, or spend a refresh token
# twice and revoke the session.
EXPECTED_UNSAFE = {"Register", "Login", "Refresh", "CreatePortfolio"}


def _levels() -> dict[str, int]:
    return {rpc.short: rpc.options.idempotency_level for rpc in catalog.rpcs()}


def test_reads_have_no_side_effects() -> None:
    levels = _levels()
    reads = {name for name in levels if name.startswith(READ_PREFIXES)} | {"Validate"}
    assert len(reads) >= 20
    assert {name for name in reads if levels[name] != NO_SIDE_EFFECTS} == set()
    assert {name for name, level in levels.items() if level == NO_SIDE_EFFECTS} == reads


def test_idempotent_writes() -> None:
    levels = _levels()
    assert {name for name, level in levels.items() if level == IDEMPOTENT} == EXPECTED_IDEMPOTENT


def test_unsafe_writes_are_not_marked_retryable() -> None:
    levels = _levels()
    assert {name for name, level in levels.items() if level == UNKNOWN} == EXPECTED_UNSAFE

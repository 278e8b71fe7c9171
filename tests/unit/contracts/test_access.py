"""Every RPC says who may call it, with the access option the auth interceptor reads."""

from __future__ import annotations

import pytest
from trademesh.identity.v1 import identity_pb2

from tests.unit.contracts import catalog

ROLES = {"viewer", "trader", "admin"}
PUBLIC = {"Register", "Login", "Refresh", "Validate", "GetJwks"}
ADMIN_ONLY = {"ListUsers", "GetRiskLimits", "SetRiskLimits"}
SERVICE_ONLY = {
    "trademesh.portfolio.v1.PortfolioService.ReserveCash",
    "trademesh.portfolio.v1.PortfolioService.ReleaseCash",
    "trademesh.portfolio.v1.PortfolioService.SettleTrade",
}
WRITES_FOR_TRADERS = {
    "PlaceOrder", "CancelOrder", "CreatePortfolio", "UpdatePortfolio", "DeletePortfolio",
}  # fmt: skip


@pytest.mark.parametrize("rpc", catalog.rpcs(), ids=lambda rpc: rpc.short)
def test_every_rpc_declares_exactly_one_kind_of_access(rpc: catalog.Rpc) -> None:
    access = rpc.access
    assert access is not None, f"{rpc.name} has no (trademesh.options.v1.access) option"
    kinds = [access.public, bool(access.roles), bool(access.callers)]
    assert sum(kinds) == 1, f"{rpc.name}: set one of public, roles, callers"
    assert set(access.roles) <= ROLES


def test_roles_name_identity_roles() -> None:
    defined = {
        name.removeprefix("ROLE_").lower()
        for name in identity_pb2.Role.keys()
        if name != "ROLE_UNSPECIFIED"
    }
    assert defined == ROLES


def test_public_rpcs() -> None:
    public = {rpc.short for rpc in catalog.rpcs() if rpc.access and rpc.access.public}
    assert public == PUBLIC


def test_admin_only_rpcs() -> None:
    admin = {
        rpc.short for rpc in catalog.rpcs() if rpc.access and list(rpc.access.roles) == ["admin"]
    }
    assert admin == ADMIN_ONLY


def test_trader_writes_exclude_viewers() -> None:
    for rpc in catalog.rpcs():
        if rpc.short in WRITES_FOR_TRADERS:
            assert rpc.access is not None
            assert set(rpc.access.roles) == {"trader", "admin"}, rpc.name


def test_service_only_rpcs_are_for_trading_alone() -> None:
    service_only = {
        rpc.name: list(rpc.access.callers)
        for rpc in catalog.rpcs()
        if rpc.access is not None and rpc.access.callers
    }
    assert service_only == {name: ["trading"] for name in SERVICE_ONLY}
    for name in SERVICE_ONLY:
        rpc = catalog.rpc(name)
        assert rpc.http is None
        assert rpc.access is not None and not rpc.access.public and not rpc.access.roles

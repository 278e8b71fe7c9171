"""Who may see a portfolio: its owner, and admins. Anyone else is told it does not exist."""

from __future__ import annotations

from mesh.context import Principal
from mesh.errors import NotFound, Unauthenticated
from services.portfolio.store import PortfolioRecord

ADMIN = "admin"


def require_principal(principal: Principal | None) -> Principal:
    """The caller; the auth interceptor binds one on every user-facing RPC."""
    if principal is None:
        raise Unauthenticated("an access token is required", reason="TOKEN_MISSING")
    return principal


def is_admin(principal: Principal) -> bool:
    return ADMIN in principal.roles


def not_found(portfolio_id: str) -> NotFound:
    return NotFound(
        f"portfolio {portfolio_id} not found",
        reason="PORTFOLIO_NOT_FOUND",
        metadata={"portfolio_id": portfolio_id},
    )


def visible(
    principal: Principal,
    record: PortfolioRecord | None,
    portfolio_id: str,
    *,
    include_deleted: bool = False,
) -> PortfolioRecord:
    """`record` if the caller may see it; NOT_FOUND for an unknown id, a deleted portfolio
    and another user's portfolio alike, so ids of other users' portfolios leak nothing."""
    if record is None or (record.is_deleted and not include_deleted):
        raise not_found(portfolio_id)
    if record.user_id != principal.user_id and not is_admin(principal):
        raise not_found(portfolio_id)
    return record

"""A new order's first record, and the answer to a repeated client_order_id."""

from __future__ import annotations

import uuid
from decimal import Decimal

from mesh import context as call_context
from mesh.errors import AlreadyExists, FailedPrecondition
from services.trading.models import Order, OrderRequest, OrderStatus, Reservation
from services.trading.pricing import day_end


def new_order(request: OrderRequest, *, currency: str, quote: Decimal | None, now: float) -> Order:
    """PENDING, nothing reserved yet; `quote` is the price seen at acceptance."""
    return Order(
        order_id=str(uuid.uuid4()),
        client_order_id=request.client_order_id,
        user_id=request.user_id,
        portfolio_id=request.portfolio_id,
        symbol=request.symbol,
        side=request.side,
        order_type=request.order_type,
        time_in_force=request.time_in_force,
        quantity=request.quantity,
        limit_price=request.limit_price,
        status=OrderStatus.PENDING,
        filled_quantity=Decimal(0),
        average_fill_price=None,
        reject_reason="",
        reject_code="",
        currency=currency,
        reservation=Reservation.NONE,
        reserved_amount=Decimal(0),
        quote_price=quote,
        expires_at=day_end(now, request.time_in_force),
        correlation_id=call_context.current().correlation_id,
        created_at=now,
        updated_at=now,
    )


def replay(request: OrderRequest, existing: Order) -> Order:
    """The same order for the same request, the same refusal for a refused one, and
    ALREADY_EXISTS for a different order under a used client_order_id."""
    if not request.same_order(existing):
        raise AlreadyExists(
            f"client_order_id {request.client_order_id!r} was already used for a different order",
            reason="CLIENT_ORDER_ID_REUSED",
            metadata={"order_id": existing.order_id},
        )
    if existing.status is OrderStatus.REJECTED:
        raise FailedPrecondition(existing.reject_reason, reason=existing.reject_code)
    return existing

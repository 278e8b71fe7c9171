"""`callers:` rules: the mTLS peer's service identity decides, from certificates issued by a
mesh CA created for the test."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.type import money_pb2
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc

from interceptors import ServerInterceptorConfig
from mesh.tls import ServiceCredentials, channel_options

from .conftest import CALL_TIMEOUT_SECONDS, USER_ID, Tokens, bearer, refused, serving
from .servicers import Portfolio, Seen, adding

T = CALL_TIMEOUT_SECONDS


def _reserve_cash() -> portfolio_pb2.ReserveCashRequest:
    return portfolio_pb2.ReserveCashRequest(
        portfolio_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        user_id=USER_ID,
        amount=money_pb2.Money(currency_code="USD", units=100),
    )


@pytest.fixture
async def portfolio(
    server_config: ServerInterceptorConfig,
    service_credentials: Callable[[str], ServiceCredentials],
) -> Any:
    seen = Seen()
    async with serving(
        server_config, adding(Portfolio(seen)), credentials=service_credentials("portfolio")
    ) as server:
        yield server, seen


def _secure_channel(address: str, caller: ServiceCredentials) -> grpc.aio.Channel:
    return grpc.aio.secure_channel(
        address, caller.channel_credentials(), options=channel_options("portfolio")
    )


async def test_an_allowed_caller_service_is_admitted(
    portfolio: Any, service_credentials: Callable[[str], ServiceCredentials]
) -> None:
    server, seen = portfolio
    async with _secure_channel(server.secure_address, service_credentials("trading")) as ch:
        response = await portfolio_pb2_grpc.PortfolioServiceStub(ch).ReserveCash(
            _reserve_cash(), timeout=T
        )

    assert response.reserved_amount.units == 100
    assert seen.last.caller_service == "trading"
    assert seen.last.principal is None


async def test_another_caller_service_is_permission_denied(
    portfolio: Any, service_credentials: Callable[[str], ServiceCredentials]
) -> None:
    server, seen = portfolio
    async with _secure_channel(server.secure_address, service_credentials("edge")) as ch:
        refusal = await refused(
            portfolio_pb2_grpc.PortfolioServiceStub(ch).ReserveCash(_reserve_cash(), timeout=T)
        )

    assert refusal == (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED")
    assert seen.contexts == []


async def test_a_caller_without_mesh_identity_is_unauthenticated(
    portfolio: Any, tokens: Tokens
) -> None:
    server, seen = portfolio
    async with grpc.aio.insecure_channel(server.address) as ch:
        # A user token is no substitute for a service identity.
        refusal = await refused(
            portfolio_pb2_grpc.PortfolioServiceStub(ch).ReserveCash(
                _reserve_cash(), metadata=bearer(tokens.access("admin")), timeout=T
            )
        )

    assert refusal == (grpc.StatusCode.UNAUTHENTICATED, "PEER_UNKNOWN")
    assert seen.contexts == []


async def test_a_forwarded_user_token_is_verified_on_service_calls(
    portfolio: Any, tokens: Tokens, service_credentials: Callable[[str], ServiceCredentials]
) -> None:
    server, seen = portfolio
    async with _secure_channel(server.secure_address, service_credentials("trading")) as ch:
        stub = portfolio_pb2_grpc.PortfolioServiceStub(ch)
        await stub.ReserveCash(_reserve_cash(), metadata=bearer(tokens.access("trader")), timeout=T)
        refusal = await refused(
            stub.ReserveCash(_reserve_cash(), metadata=bearer(tokens.expired()), timeout=T)
        )

    assert seen.last.principal is not None and seen.last.principal.user_id == USER_ID
    assert seen.last.caller_service == "trading"
    assert refusal == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")

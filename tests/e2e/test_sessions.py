"""A session ended in identity ends everywhere: the other services learn of the revocation
through `identity.sessions.v1` and refuse the session's access token long before it expires."""

from __future__ import annotations

import time

import grpc
import jwt
from trademesh.identity.v1 import identity_pb2
from trademesh.notification.v1 import notification_pb2
from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import trading_pb2

from mesh.rpc import bearer_metadata
from tests.conftest import eventually
from tests.e2e._platform import Metadata, Platform
from tests.e2e._users import PASSWORD, new_trader

# How long the other services may take to refuse a logged-out session's token.
WITHIN_SECONDS = 15.0


async def _answers(platform: Platform, portfolio_id: str, metadata: Metadata) -> dict[str, str]:
    """What portfolio, trading and notification say to a read with these credentials."""
    calls = {
        "portfolio": (
            await platform.stub("portfolio"),
            "GetPortfolio",
            portfolio_pb2.GetPortfolioRequest(portfolio_id=portfolio_id),
        ),
        "trading": (await platform.stub("trading"), "ListOrders", trading_pb2.ListOrdersRequest()),
        "notification": (
            await platform.stub("notification"),
            "ListNotifications",
            notification_pb2.ListNotificationsRequest(),
        ),
    }
    answers: dict[str, str] = {}
    for service, (stub, method, request) in calls.items():
        try:
            await getattr(stub, method)(request, metadata=metadata)
            answers[service] = "OK"
        except grpc.aio.AioRpcError as error:
            answers[service] = error.code().name
    return answers


async def test_logout_is_refused_by_the_other_services_within_seconds(platform: Platform) -> None:
    trader = await new_trader(platform)
    identity = await platform.stub("identity")
    second = await identity.Login(identity_pb2.LoginRequest(email=trader.email, password=PASSWORD))
    kept = (bearer_metadata(second.tokens.access_token),)
    everywhere = {"portfolio": "OK", "trading": "OK", "notification": "OK"}
    assert await _answers(platform, trader.portfolio_id, trader.metadata) == everywhere

    await identity.Logout(identity_pb2.LogoutRequest(), metadata=trader.metadata)
    claims = jwt.decode(trader.access_token, options={"verify_signature": False})
    assert claims["exp"] > time.time() + 60  # the token itself is far from expiring

    refused = {service: "UNAUTHENTICATED" for service in everywhere}
    latest: list[dict[str, str]] = []

    async def all_refuse() -> bool:
        latest[:] = [await _answers(platform, trader.portfolio_id, trader.metadata)]
        return latest[0] == refused

    try:
        await eventually(all_refuse, timeout=WITHIN_SECONDS, interval=0.25)
    except AssertionError:
        raise AssertionError(
            f"{WITHIN_SECONDS:.0f}s after logout the revoked session's token still got "
            f"{latest[0]} (wanted UNAUTHENTICATED everywhere)"
        ) from None
    # Only that session ended: the user's other session is still served everywhere.
    assert await _answers(platform, trader.portfolio_id, kept) == everywhere

"""REST users of the edge: sign-up, sign-in and traders with a portfolio, all over HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e._platform import ADMIN_EMAIL, ADMIN_PASSWORD

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class RestUser:
    user_id: str
    session_id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> RestUser:
    body = ok(await http.post("/api/v1/auth/login", json={"email": email, "password": password}))
    return RestUser(
        body["user"]["userId"], body["tokens"]["sessionId"], email, body["tokens"]["accessToken"]
    )


async def admin(http: httpx.AsyncClient) -> RestUser:
    return await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)


async def register(http: httpx.AsyncClient, *, trader: bool = False) -> RestUser:
    """A new user signed in over REST; made a trader by the admin over REST when asked."""
    email = f"u{uuid.uuid4().hex[:12]}@edge.trademesh.test"
    body = ok(
        await http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "displayName": "Edge"},
        ),
        201,
    )
    user_id = body["user"]["userId"]
    if trader:
        root = await admin(http)
        ok(
            await http.patch(
                f"/api/v1/users/{user_id}",
                json={"roles": ["ROLE_VIEWER", "ROLE_TRADER"]},
                headers=root.headers,
            )
        )
    return await login(http, email)


async def portfolio(http: httpx.AsyncClient, user: RestUser, cash: str = "100000") -> str:
    units, _, fraction = cash.partition(".")
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    body = ok(
        await http.post(
            "/api/v1/portfolios",
            json={
                "name": "main",
                "baseCurrency": "USD",
                "initialCash": {"currencyCode": "USD", "units": units, "nanos": nanos},
            },
            headers=user.headers,
        ),
        201,
    )
    return str(body["portfolio"]["portfolioId"])


def market_order(portfolio_id: str, quantity: str = "1", symbol: str = "AAPL") -> dict[str, str]:
    """A PlaceOrder body: a market buy with a fresh client order id."""
    return {
        "portfolioId": portfolio_id,
        "clientOrderId": uuid.uuid4().hex,
        "symbol": symbol,
        "side": "SIDE_BUY",
        "orderType": "ORDER_TYPE_MARKET",
        "quantity": quantity,
    }

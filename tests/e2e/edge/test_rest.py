"""Every REST route of every service, on its success and error paths, through nginx and the
edges to the real services: the route table, codec and error contract working together."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import eventually
from tests.e2e.edge._gateway import Gateway
from tests.e2e.edge._rest import admin, market_order, ok, portfolio, register


def reasons(body: dict[str, Any]) -> list[str]:
    return [d["reason"] for d in body["details"] if "reason" in d]


def violations(body: dict[str, Any]) -> list[str]:
    return [v["field"] for d in body["details"] for v in d.get("fieldViolations", [])]


async def test_identity_routes(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http)
        me = ok(await http.get("/api/v1/users/me", headers=user.headers))
        assert me["user"]["userId"] == user.user_id  # the literal `me` wins over {user_id}
        assert (
            ok(await http.get(f"/api/v1/users/{user.user_id}", headers=user.headers))["user"][
                "email"
            ]
            == user.email
        )
        valid = ok(await http.post("/api/v1/auth/validate", json={"token": user.token}))
        assert valid["valid"] is True

        other = await register(http)
        refused = await http.get(f"/api/v1/users/{other.user_id}", headers=user.headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == 7

        listed = await http.get("/api/v1/users", headers=user.headers)
        assert listed.status_code == 403  # admins only, refused by the edge and the service

        root = await admin(http)
        page = ok(await http.get("/api/v1/users", params={"pageSize": 2}, headers=root.headers))
        assert len(page["users"]) == 2 and page["nextPageToken"]

        # PATCH fills the update mask from the body's fields: only the name changes.
        renamed = ok(
            await http.patch(
                f"/api/v1/users/{user.user_id}",
                json={"displayName": "Renamed"},
                headers=user.headers,
            )
        )
        assert renamed["user"]["displayName"] == "Renamed"
        assert renamed["user"]["email"] == user.email

        gone = await http.delete(f"/api/v1/users/{other.user_id}", headers=root.headers)
        assert gone.status_code == 204 and gone.content == b""
        missing = await http.get(f"/api/v1/users/{other.user_id}", headers=root.headers)
        assert missing.status_code == 404 and missing.json()["code"] == 5

        jwks = ok(await http.get("/.well-known/jwks.json"))
        assert jwks["keys"] and all(key["kty"] == "OKP" for key in jwks["keys"])

        refreshed = ok(await http.post("/api/v1/auth/logout", json={}, headers=user.headers))
        assert refreshed is not None

        async def refused_after_logout() -> bool:
            answer = await http.get("/api/v1/users/me", headers=user.headers)
            return answer.status_code == 401

        await eventually(refused_after_logout, timeout=30, what="the revoked session refused")


async def test_auth_errors(gateway: Gateway) -> None:
    async with gateway.client() as http:
        bad = await http.post("/api/v1/auth/login", json={"email": "x@y.z", "password": "wrong!!"})
        assert bad.status_code in (400, 401), bad.text
        missing = await http.get("/api/v1/users/me")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert reasons(missing.json()) == ["TOKEN_MISSING"]
        garbage = await http.get("/api/v1/users/me", headers={"Authorization": "Bearer nope"})
        assert garbage.status_code == 401 and reasons(garbage.json()) == ["TOKEN_INVALID"]
        taken = await register(http)
        again = await http.post(
            "/api/v1/auth/register",
            json={"email": taken.email, "password": "another long password", "displayName": "X"},
        )
        assert again.status_code == 409, again.text


async def test_marketdata_routes(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http)
        found = ok(
            await http.get("/api/v1/stocks/search", params={"query": "AA"}, headers=user.headers)
        )
        assert "AAPL" in [i["symbol"] for i in found["instruments"]]  # literal `search` wins
        instrument = ok(await http.get("/api/v1/stocks/AAPL", headers=user.headers))
        assert instrument["instrument"]["symbol"] == "AAPL"
        quote = ok(await http.get("/api/v1/stocks/AAPL/quote", headers=user.headers))
        assert quote["quote"]["symbol"] == "AAPL"
        # A repeated field given by repeating the query parameter.
        quotes = ok(
            await http.get(
                "/api/v1/stocks/quotes",
                params=[("symbols", "AAPL"), ("symbols", "MSFT")],
                headers=user.headers,
            )
        )
        assert {q["symbol"] for q in quotes["quotes"]} == {"AAPL", "MSFT"}
        unknown = await http.get("/api/v1/stocks/NOPE", headers=user.headers)
        assert unknown.status_code == 404 and unknown.json()["code"] == 5


async def test_portfolio_routes(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http, trader=True)
        portfolio_id = await portfolio(http, user, "2500.50")
        got = ok(await http.get(f"/api/v1/portfolios/{portfolio_id}", headers=user.headers))
        assert got["portfolio"]["cashBalance"]["units"] == "2500"
        listed = ok(await http.get("/api/v1/portfolios", headers=user.headers))
        assert [p["portfolioId"] for p in listed["portfolios"]] == [portfolio_id]
        renamed = ok(
            await http.patch(
                f"/api/v1/portfolios/{portfolio_id}",
                json={"name": "renamed"},
                headers=user.headers,
            )
        )
        assert renamed["portfolio"]["name"] == "renamed"
        ok(await http.get(f"/api/v1/portfolios/{portfolio_id}/positions", headers=user.headers))
        ok(await http.get(f"/api/v1/portfolios/{portfolio_id}/performance", headers=user.headers))
        export = await http.get(f"/api/v1/portfolios/{portfolio_id}/export", headers=user.headers)
        assert export.status_code == 200, export.text
        assert export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]

        stranger = await register(http, trader=True)
        hidden = await http.get(f"/api/v1/portfolios/{portfolio_id}", headers=stranger.headers)
        assert hidden.status_code in (403, 404), hidden.text

        bad_id = await http.get("/api/v1/portfolios/not-a-uuid", headers=user.headers)
        assert bad_id.status_code == 400 and "portfolio_id" in violations(bad_id.json())

        second = await portfolio(http, user, "10")
        deleted = await http.delete(f"/api/v1/portfolios/{second}", headers=user.headers)
        assert deleted.status_code == 204, deleted.text


async def test_trading_and_notification_routes(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http, trader=True)
        portfolio_id = await portfolio(http, user)
        order = market_order(portfolio_id, "2")
        placed = ok(await http.post("/api/v1/orders", json=order, headers=user.headers), 202)
        order_id = placed["order"]["orderId"]
        got = ok(await http.get(f"/api/v1/orders/{order_id}", headers=user.headers))
        assert got["order"]["symbol"] == "AAPL"

        async def filled() -> bool:
            body = ok(await http.get(f"/api/v1/orders/{order_id}", headers=user.headers))
            return bool(body["order"]["status"] == "ORDER_STATUS_FILLED")

        await eventually(filled, timeout=30, what="the market order filled")
        orders = ok(
            await http.get(
                "/api/v1/orders",
                params={"statuses": "ORDER_STATUS_FILLED", "portfolioId": portfolio_id},
                headers=user.headers,
            )
        )
        assert [o["orderId"] for o in orders["orders"]] == [order_id]
        trades = ok(
            await http.get("/api/v1/trades", params={"orderId": order_id}, headers=user.headers)
        )
        assert trades["trades"] and trades["trades"][0]["orderId"] == order_id

        limit = {
            **order,
            "clientOrderId": uuid.uuid4().hex,
            "orderType": "ORDER_TYPE_LIMIT",
            "limitPrice": "1.00",
        }
        resting = ok(await http.post("/api/v1/orders", json=limit, headers=user.headers), 202)
        cancelled = await http.post(
            f"/api/v1/orders/{resting['order']['orderId']}/cancel", json={}, headers=user.headers
        )
        assert cancelled.status_code in (200, 400, 409), cancelled.text

        invalid = await http.post(
            "/api/v1/orders", json={**order, "quantity": "-1"}, headers=user.headers
        )
        assert invalid.status_code == 400 and "quantity" in violations(invalid.json())
        viewer = await register(http)
        refused = await http.post("/api/v1/orders", json=order, headers=viewer.headers)
        assert refused.status_code == 403

        limits = await http.get(f"/api/v1/risk-limits/{user.user_id}", headers=user.headers)
        assert limits.status_code == 403  # admins only
        root = await admin(http)
        ok(await http.get(f"/api/v1/risk-limits/{user.user_id}", headers=root.headers))

        async def notified() -> bool:
            body = ok(await http.get("/api/v1/notifications", headers=user.headers))
            return bool(body.get("notifications"))

        await eventually(notified, timeout=30, what="a notification of the fill")
        ok(await http.post("/api/v1/notifications/read", json={"all": True}, headers=user.headers))
        unread = ok(
            await http.get(
                "/api/v1/notifications", params={"unreadOnly": "true"}, headers=user.headers
            )
        )
        assert not unread.get("notifications")


async def test_the_edges_own_errors(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http, trader=True)
        h = user.headers
        malformed = await http.post(
            "/api/v1/orders",
            content=b"{not json",
            headers={**h, "Content-Type": "application/json"},
        )
        assert malformed.status_code == 400 and malformed.json()["code"] == 3
        unknown = await http.post("/api/v1/orders", json={"bogus": 1}, headers=h)
        assert unknown.status_code == 400 and "bogus" in unknown.json()["message"]
        wrong = await http.post("/api/v1/orders", json={"side": 3.5}, headers=h)
        assert wrong.status_code == 400 and "side" in wrong.json()["message"]
        nowhere = await http.get("/api/v1/nowhere", headers=h)
        assert nowhere.status_code == 404 and nowhere.json()["code"] == 5
        verb = await http.put("/api/v1/orders", json={}, headers=h)
        assert verb.status_code == 405 and "POST" in verb.headers["allow"]
        typed = await http.post(
            "/api/v1/orders", content=b"a=b", headers={**h, "Content-Type": "text/plain"}
        )
        assert typed.status_code == 415
        bad_query = await http.get("/api/v1/orders", params={"pageSize": "many"}, headers=h)
        assert bad_query.status_code == 400 and "pageSize" in bad_query.json()["message"]
        # A body larger than nginx keeps in a default buffer still reaches the edge.
        many = {"notificationIds": [str(uuid.uuid4()) for _ in range(6000)]}
        large = await http.post("/api/v1/notifications/read", json=many, headers=h)
        assert large.status_code == 400 and large.json()["code"] == 3, large.text
        unknown_query = await http.get("/api/v1/orders", params={"colour": "red"}, headers=h)
        assert unknown_query.status_code == 400 and "colour" in unknown_query.json()["message"]

    # Over the edge's own body limit (nginx allows as much as the edge by default).
    async with httpx.AsyncClient(base_url=gateway.edge_url(0)) as direct:
        huge = await direct.post(
            "/api/v1/orders", content=b"x" * (2 << 20), headers={"Content-Type": "application/json"}
        )
        assert huge.status_code == 413 and huge.json()["code"] in (3, 8, 11)

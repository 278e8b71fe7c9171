"""The correlation id: taken when well-formed, made up otherwise, bound for the mesh client,
echoed in the answer."""

from __future__ import annotations

import grpc
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from edge.http.correlation import CorrelationMiddleware
from mesh import context as call_context
from mesh.client.interceptors.propagation import propagated_details
from mesh.rpc import CORRELATION_ID_KEY


async def _seen(request: Request) -> JSONResponse:
    # What the mesh client would send on a call made while handling this request.
    details = propagated_details(
        grpc.aio.ClientCallDetails("/x.Svc/M", None, grpc.aio.Metadata(), None, None)
    )
    return JSONResponse(
        {
            "bound": call_context.current().correlation_id,
            "forwarded": details.metadata.get(CORRELATION_ID_KEY) if details.metadata else None,
            "scope": request.scope.get("correlation_id"),
        },
        headers={"X-Correlation-Id": "the-app-must-not-win"},
    )


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = CorrelationMiddleware(Starlette(routes=[Route("/seen", _seen)]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


async def test_a_well_formed_id_is_bound_forwarded_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/seen", headers={"X-Correlation-Id": "req-42.a_b"})

    assert response.json() == {
        "bound": "req-42.a_b",
        "forwarded": "req-42.a_b",
        "scope": "req-42.a_b",
    }
    assert response.headers.get_list("x-correlation-id") == ["req-42.a_b"]
    assert call_context.current().correlation_id == ""  # unbound after the request


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("X-Correlation-Id", "has spaces in it")],
        [("X-Correlation-Id", "x" * 129)],
        [("X-Correlation-Id", "")],
        [("X-Correlation-Id", "one"), ("X-Correlation-Id", "two")],
    ],
)
async def test_a_missing_or_malformed_id_is_replaced_by_a_fresh_one(
    client: httpx.AsyncClient, headers: list[tuple[str, str]]
) -> None:
    response = await client.get("/seen", headers=headers)

    made = response.headers["x-correlation-id"]
    assert len(made) == 32 and made not in {"one", "two"}
    assert response.json()["bound"] == made
    assert response.json()["forwarded"] == made


async def test_each_request_gets_its_own_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/seen")
    second = await client.get("/seen")
    assert first.headers["x-correlation-id"] != second.headers["x-correlation-id"]

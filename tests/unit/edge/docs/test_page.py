"""The /docs page and its assets are served by the edge itself: nothing from another host."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from edge.docs.page import docs_routes

FOREIGN = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")


async def _document(request: object) -> JSONResponse:
    return JSONResponse({"openapi": "3.1.0"})


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(
        routes=[
            Route("/openapi.json", _document),
            *docs_routes(openapi_url="/openapi.json", asyncapi_url="/asyncapi.json"),
        ]
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://edge.test"
    ) as http:
        yield http


async def test_the_page_is_html_pointing_at_the_documents(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert 'href="/asyncapi.json"' in page.text


async def test_nothing_comes_from_another_host(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    script = (await client.get("/docs/init.js")).text
    assert FOREIGN.findall(page) == [] and FOREIGN.findall(script) == []
    assert "<script>" not in page  # no inline script: the CSP says script-src 'self'


async def test_every_asset_the_page_names_is_served(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assets = re.findall(r'(?:src|href)="(/docs/[^"]+)"', page)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    assert "/docs/init.js" in assets
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.content, asset
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert "javascript" in (await client.get("/docs/init.js")).headers["content-type"]


async def test_unknown_assets_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/assets/nope.js")).status_code == 404
    assert (await client.get("/docs/assets/../page.py")).status_code == 404


def test_swagger_ui_reads_openapi_3_1() -> None:
    # Swagger UI renders OpenAPI 3.1 from its major version 5 on.
    from edge.docs.page import ASSETS

    version = re.search(r"swagger-ui-(\d+)\.", ASSETS.name)
    assert version is not None and int(version.group(1)) >= 5

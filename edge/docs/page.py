"""The `/docs` page: Swagger UI over the OpenAPI document, served with its assets from an
installed package (`swagger-ui-bundle-v2`), so it works offline and under a `script-src
'self'` policy (no CDN, no inline script)."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = Path(str(swagger_ui_path))

# Settings come from the page's data attributes, so this script is the same for every page.
INIT_SCRIPT = """\
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<style>body {{ margin: 0; }} .tm-links {{ font-family: sans-serif; padding: 8px 20px; }}</style>
</head>
<body>
<p class="tm-links">OpenAPI document: <a href="{openapi}">{openapi}</a> &middot;
Socket.IO rooms and events (AsyncAPI 3): <a href="{asyncapi}">{asyncapi}</a></p>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{path}/init.js"></script>
</body>
</html>
"""


def docs_page(openapi_url: str, asyncapi_url: str, path: str = "/docs", title: str = "") -> str:
    return PAGE.format(
        title=html.escape(title or "trademesh API"),
        assets=html.escape(f"{path}/assets"),
        path=html.escape(path),
        openapi=html.escape(openapi_url),
        asyncapi=html.escape(asyncapi_url),
    )


def docs_routes(
    openapi_url: str = "/openapi.json",
    asyncapi_url: str = "/asyncapi.json",
    path: str = "/docs",
    title: str = "",
) -> list[BaseRoute]:
    """`path` (the page), `path/init.js` and `path/assets/...` (Swagger UI's files)."""
    page = docs_page(openapi_url, asyncapi_url, path, title).encode()

    async def show(request: Request) -> Response:
        return HTMLResponse(page)

    async def init(request: Request) -> Response:
        return Response(INIT_SCRIPT, media_type="text/javascript")

    return [
        Route(path, show, methods=["GET", "HEAD"], name="docs"),
        Route(f"{path}/init.js", init, methods=["GET", "HEAD"], name="docs-init"),
        Mount(f"{path}/assets", StaticFiles(directory=ASSETS), name="docs-assets"),
    ]

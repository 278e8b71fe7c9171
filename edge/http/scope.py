"""The route template of a request, as handlers record it in the ASGI scope for spans and
metrics (never the raw path: its values would make every user id a new time series)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Mount
from starlette.types import Scope

ROUTE_TEMPLATE_KEY = "route_template"
UNMATCHED = "unmatched"


def set_route_template(scope: Scope, template: str) -> None:
    """Called by a handler that matched the request itself (the REST transcoder behind one
    catch-all Starlette route): `/api/v1/users/{user_id}`."""
    scope[ROUTE_TEMPLATE_KEY] = template


def route_template(scope: Scope) -> str | None:
    """The template recorded by the handler (scope key or `request.state`), else the path
    of the plain Starlette route that matched, else None."""
    template = scope.get(ROUTE_TEMPLATE_KEY)
    if not isinstance(template, str):
        state = scope.get("state")
        template = state.get(ROUTE_TEMPLATE_KEY) if isinstance(state, dict) else None
    if isinstance(template, str):
        # "POST /api/v1/orders" is taken too: a path template has no spaces.
        return template.rpartition(" ")[2]
    route: Any = scope.get("route")
    if route is None or isinstance(route, Mount):
        return None
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return None
    return scope.get("root_path", "").rstrip("/") + path_format or "/"

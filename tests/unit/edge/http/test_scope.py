"""The route template a request is labelled by: the handler's, else the Starlette route's."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from edge.http.scope import route_template, set_route_template


async def _endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    pass


def test_a_template_set_by_the_handler_wins() -> None:
    scope = {"route": Route("/api/{rest:path}", _endpoint)}
    set_route_template(scope, "/api/v1/users/{user_id}")
    assert route_template(scope) == "/api/v1/users/{user_id}"


def test_a_template_with_its_method_in_front_is_taken_without_it() -> None:
    assert route_template({"route_template": "POST /api/v1/orders"}) == "/api/v1/orders"


def test_a_template_left_in_request_state_is_found() -> None:
    assert route_template({"state": {"route_template": "/api/v1/orders/{id}"}}) == (
        "/api/v1/orders/{id}"
    )


def test_a_plain_route_gives_its_path_format_under_the_root_path() -> None:
    scope = {"route": Route("/health/{service}", _endpoint), "root_path": "/edge/"}
    assert route_template(scope) == "/edge/health/{service}"


def test_nothing_matched_or_a_mount_gives_none() -> None:
    assert route_template({}) is None
    assert route_template({"route": Mount("/socket.io", app=_endpoint)}) is None

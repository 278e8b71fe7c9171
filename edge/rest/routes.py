"""The route table: every `google.api.http` binding of every reachable RPC, matched by HTTP
method and path with literal segments winning over variables."""

from __future__ import annotations

from dataclasses import dataclass

from edge.contracts import MethodContract


@dataclass(frozen=True)
class Variable:
    """A path variable: `{user_id}` or `{name=items/*}`, bound to a (nested) request field."""

    field_path: tuple[str, ...]  # proto field names from the request message: ("user", "id")

    @property
    def name(self) -> str:
        """Dotted, as the template writes it: `user.id`."""
        return ".".join(self.field_path)


@dataclass(frozen=True)
class PathTemplate:
    text: str  # as the annotation writes it: "/api/v1/users/{user_id}"
    variables: tuple[Variable, ...]

    @property
    def openapi_path(self) -> str:
        """The path as OpenAPI writes it: each variable as `{dotted.name}`."""
        raise NotImplementedError


@dataclass(frozen=True)
class Route:
    http_method: str  # "GET", "POST", "PUT", "PATCH", "DELETE" (or a custom verb, upper case)
    template: PathTemplate
    method: MethodContract
    body: str  # "" (no body), "*" (the whole request) or the request field that is the body
    response_body: str  # "" (the whole response) or the response field answered as the body

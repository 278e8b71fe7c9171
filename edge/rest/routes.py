"""The route table: every `google.api.http` binding of every reachable RPC, matched by HTTP
method and path with literal segments winning over variables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc
from google.api import http_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from edge.contracts import MethodContract
from edge.errors import EdgeError, error_info
from edge.rest.pattern import (
    DOUBLE_STAR,
    STAR,
    PathTemplate,
    PathValueError,
    TemplateError,
    Variable,
    literal_key,
    split_path,
)

__all__ = [
    "PathTemplate",
    "Route",
    "RouteConflict",
    "RouteError",
    "RouteMatch",
    "RouteTable",
    "Variable",
]


class RouteError(ValueError):
    """An `google.api.http` annotation the edge cannot serve; start-up fails on it."""


class RouteConflict(RouteError):
    """Two bindings that would answer the same requests with equal precedence."""

    def __init__(self, first: Route, second: Route) -> None:
        super().__init__(
            f"{first.http_method} {first.template.text} ({first.method.name}) and "
            f"{second.http_method} {second.template.text} ({second.method.name}) "
            "match the same requests"
        )
        self.first = first
        self.second = second


@dataclass(frozen=True, eq=False)  # one object per binding: hashed by identity, cheaply
class Route:
    http_method: str  # "GET", "POST", "PUT", "PATCH", "DELETE" (or a custom verb, upper case)
    template: PathTemplate
    method: MethodContract
    body: str  # "" (no body), "*" (the whole request) or the request field that is the body
    response_body: str  # "" (the whole response) or the response field answered as the body


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    variables: dict[str, str]  # dotted request field path → percent-decoded value


class _Node:
    """One trie position: the literals that may come next, a `*`, and the templates that end
    here or take the rest of the path with `**`, each by verb."""

    __slots__ = ("ends", "literals", "rest", "star")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.star: _Node | None = None
        self.ends: dict[str, Route] = {}
        self.rest: dict[str, Route] = {}

    def add(self, route: Route) -> Route | None:
        """Adds the route; returns the route already holding its place, if any."""
        node = self
        segments = route.template.segments
        verb = route.template.verb
        for segment in segments:
            if segment == DOUBLE_STAR:
                return _put(node.rest, verb, route)
            if segment == STAR:
                node.star = node.star or _Node()
                node = node.star
            else:
                node = node.literals.setdefault(segment, _Node())
        return _put(node.ends, verb, route)

    def find(self, keys: list[str], index: int, verb: str) -> Route | None:
        # Depth first in precedence order (literal, then `*`, then `**`) at each position, so
        # the first template found is the best one.
        if index == len(keys):
            return self.ends.get(verb) or self.rest.get(verb)
        child = self.literals.get(keys[index])
        if child is not None:
            found = child.find(keys, index + 1, verb)
            if found is not None:
                return found
        if self.star is not None:
            found = self.star.find(keys, index + 1, verb)
            if found is not None:
                return found
        return self.rest.get(verb)


def _put(slot: dict[str, Route], verb: str, route: Route) -> Route | None:
    held = slot.get(verb)
    if held is None:
        slot[verb] = route
    return held


@dataclass
class _Trie:
    root: _Node = field(default_factory=_Node)
    verbs: set[str] = field(default_factory=set)

    def find(self, path: str) -> tuple[Route, list[str]] | None:
        for segments, verb in split_path(path):
            if verb and verb not in self.verbs:
                continue
            route = self.root.find([literal_key(s) for s in segments], 0, verb)
            if route is not None:
                return route, segments
        return None


class RouteTable:
    """Routes indexed per HTTP method in a trie of path segments: a match walks the path
    once, whatever the number of routes."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._tries: dict[str, _Trie] = {}
        for route in self.routes:
            trie = self._tries.setdefault(route.http_method, _Trie())
            held = trie.root.add(route)
            if held is not None:
                raise RouteConflict(held, route)
            trie.verbs.add(route.template.verb)

    @classmethod
    def build(cls, contracts: Iterable[MethodContract]) -> RouteTable:
        """One route per binding (primary, then additional) of every reachable method; a
        binding naming a field its messages lack, or two that collide, fail here."""
        return cls(
            route_of(contract, rule)
            for contract in contracts
            if contract.reachable
            for rule in contract.http_rules
        )

    def __len__(self) -> int:
        return len(self.routes)

    def match(self, http_method: str, path: str) -> RouteMatch:
        """The route for a request; `path` is the path as sent, still percent-encoded (so
        that `%2F` inside a segment is not a separator)."""
        method = http_method.upper()
        found = self._find(method, path)
        if found is None and method == "HEAD":
            found = self._find("GET", path)
        if found is None:
            allowed = sorted(m for m in self._tries if self._find(m, path) is not None)
            if not allowed:
                raise EdgeError(
                    grpc.StatusCode.NOT_FOUND,
                    f"no route for {_shown(path)}",
                    details=[error_info("ROUTE_NOT_FOUND", path=_shown(path))],
                )
            if "GET" in allowed:
                allowed = sorted([*allowed, "HEAD"])
            raise EdgeError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"method {method} not allowed for {_shown(path)}; allowed: {', '.join(allowed)}",
                details=[error_info("METHOD_NOT_ALLOWED", method=method, path=_shown(path))],
                http_status=405,
                headers={"Allow": ", ".join(allowed)},
            )
        route, segments = found
        try:
            return RouteMatch(route, route.template.bind(segments))
        except PathValueError as error:
            raise EdgeError.invalid(error.variable, error.why) from None

    def _find(self, method: str, path: str) -> tuple[Route, list[str]] | None:
        trie = self._tries.get(method)
        return None if trie is None else trie.find(path)


def _shown(path: str) -> str:
    return path if len(path) <= 200 else path[:200] + "…"


def route_of(contract: MethodContract, rule: http_pb2.HttpRule) -> Route:
    """The route of one binding, its fields checked against the method's messages."""
    name = contract.name
    if rule.additional_bindings:
        raise RouteError(f"{name}: an additional binding may not have bindings of its own")
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise RouteError(f"{name}: a google.api.http binding without an HTTP method")
    if kind == "custom":
        http_method, text = rule.custom.kind.upper(), rule.custom.path
        if not http_method.isalpha():
            raise RouteError(f"{name}: custom HTTP method {rule.custom.kind!r} is not a token")
    else:
        http_method, text = kind.upper(), getattr(rule, kind)
    try:
        template = PathTemplate.parse(text)
    except TemplateError as error:
        raise RouteError(f"{name}: {error}") from None
    where = f"{name} ({http_method} {text})"
    for variable in template.variables:
        leaf = _field(
            contract.input, variable.field_path, where, f"path variable {{{variable.name}}}"
        )
        if leaf.message_type is not None or _repeated(leaf):
            raise RouteError(
                f"{where}: path variable {{{variable.name}}} names a message or repeated field"
            )
        if variable.multi_segment and leaf.type != FieldDescriptor.TYPE_STRING:
            raise RouteError(
                f"{where}: path variable {{{variable.name}}} spans segments, so it must be a string"
            )
    if rule.body and rule.body != "*":
        _field(contract.input, tuple(rule.body.split(".")), where, "body")
    if rule.response_body:
        _field(contract.output, tuple(rule.response_body.split(".")), where, "response_body")
    return Route(http_method, template, contract, rule.body, rule.response_body)


def _field(message: Descriptor, path: tuple[str, ...], where: str, what: str) -> FieldDescriptor:
    """The field at a dotted proto-name path; each step before the last a singular message."""
    current = message
    dotted = ".".join(path)
    for index, part in enumerate(path):
        found = current.fields_by_name.get(part)
        if found is None:
            raise RouteError(
                f"{where}: {what} {dotted!r}: {current.full_name} has no field {part!r}"
            )
        if index == len(path) - 1:
            return found
        if found.message_type is None or _repeated(found):
            raise RouteError(
                f"{where}: {what} {dotted!r}: {part!r} is not a singular message field"
            )
        current = found.message_type
    raise RouteError(f"{where}: {what} is empty")


def _repeated(descriptor: FieldDescriptor) -> bool:
    return bool(descriptor.is_repeated)

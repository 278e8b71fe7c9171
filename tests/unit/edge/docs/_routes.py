"""Routes read straight from the compiled contracts' `google.api.http` bindings, so the
document tests stand on the contracts alone, not on how the route table matches paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.contracts import Contracts, compiled_contracts
from edge.rest.routes import PathTemplate, Route, Variable

_VARIABLE = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")


@dataclass(frozen=True)
class _Template(PathTemplate):
    @property
    def openapi_path(self) -> str:
        return _VARIABLE.sub(lambda m: "{" + m.group(1) + "}", self.text)


def routes_of(contracts: Contracts) -> list[Route]:
    routes = []
    for contract in contracts:
        if not contract.reachable:
            continue
        for rule in contract.http_rules:
            kind = rule.WhichOneof("pattern")
            assert kind is not None and kind != "custom"
            text = getattr(rule, kind)
            variables = tuple(Variable(tuple(name.split("."))) for name in _VARIABLE.findall(text))
            routes.append(
                Route(
                    http_method=kind.upper(),
                    template=_Template(text, variables),
                    method=contract,
                    body=rule.body,
                    response_body=rule.response_body,
                )
            )
    return routes


def compiled_routes() -> list[Route]:
    return routes_of(compiled_contracts())

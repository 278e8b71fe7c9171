"""The edge's token refusals are those of the services' auth interceptor, reason by reason."""

from __future__ import annotations

import pytest

from edge.auth.refusals import token_refusal
from mesh.tokens import TokenError, TokenErrorReason
from mesh.tokens.refusals import token_refusal as service_refusal
from tests.unit.edge.auth.conftest import reason_of


@pytest.mark.parametrize("token_reason", list(TokenErrorReason))
def test_every_token_error_is_refused_as_the_interceptor_refuses_it(
    token_reason: TokenErrorReason,
) -> None:
    error = TokenError(token_reason)
    service = service_refusal(error)
    edge = token_refusal(error)
    _, reason, metadata = reason_of(edge)
    assert edge.status.code == service.code.value[0]
    assert edge.status.message == service.message
    assert (reason, metadata) == (service.reason, service.metadata)

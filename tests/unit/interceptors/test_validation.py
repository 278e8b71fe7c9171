"""protovalidate on real requests of the real contracts; violations as BadRequest details."""

from __future__ import annotations

import uuid

import grpc
import protovalidate
import pytest
from google.rpc import error_details_pb2
from protobuf import Oneof
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc
from trademesh.notification.v1 import notification_pb2, notification_pb2_grpc

from interceptors import ServerInterceptorConfig, status_details
from interceptors.validation import field_path, has_rules

from .conftest import CALL_TIMEOUT_SECONDS, Tokens, bearer, serving
from .servicers import Identity, MarketData, Notifications, Seen, adding

T = CALL_TIMEOUT_SECONDS


def _violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    details = status_details(error)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    bad_request = details.find(error_details_pb2.BadRequest)
    assert bad_request is not None, details
    return {v.field: v.description for v in bad_request.field_violations}


async def test_invalid_unary_request_gets_field_violations(
    server_config: ServerInterceptorConfig,
) -> None:
    seen = Seen()
    request = identity_pb2.RegisterRequest(email="not-an-email", password="short")
    async with (
        serving(server_config, adding(Identity(seen))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await identity_pb2_grpc.IdentityServiceStub(ch).Register(request, timeout=T)

    violations = _violations(raised.value)
    assert violations == {
        "email": "must be a valid email address",
        "password": "must be at least 8 characters",
        "display_name": "value is required",
    }
    details = status_details(raised.value)
    info = details.find(error_details_pb2.ErrorInfo)
    assert info is not None and (info.reason, info.domain) == ("INVALID_REQUEST", "trademesh")
    assert details.message.startswith("invalid request: email: must be a valid email address")
    assert seen.contexts == []  # the handler never saw it


async def test_valid_request_reaches_the_handler(server_config: ServerInterceptorConfig) -> None:
    seen = Seen()
    request = identity_pb2.RegisterRequest(
        email="ada@example.com", password="correct horse", display_name="Ada"
    )
    async with (
        serving(server_config, adding(Identity(seen))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        await identity_pb2_grpc.IdentityServiceStub(ch).Register(request, timeout=T)

    assert len(seen.contexts) == 1


async def test_indexed_and_message_level_violations(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    seen = Seen()
    async with (
        serving(server_config, adding(Notifications(seen))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        stub = notification_pb2_grpc.NotificationServiceStub(ch)
        auth = bearer(tokens.access("viewer"))
        with pytest.raises(grpc.aio.AioRpcError) as bad_ids:
            await stub.MarkRead(
                notification_pb2.MarkReadRequest(notification_ids=[str(uuid.uuid4()), "nope"]),
                metadata=auth,
                timeout=T,
            )
        with pytest.raises(grpc.aio.AioRpcError) as neither:
            await stub.MarkRead(notification_pb2.MarkReadRequest(), metadata=auth, timeout=T)

    assert _violations(bad_ids.value) == {"notification_ids[1]": "must be a valid UUID"}
    assert _violations(neither.value) == {"": "set exactly one of notification_ids and all"}
    assert seen.contexts == []


async def test_authentication_comes_before_validation(
    server_config: ServerInterceptorConfig,
) -> None:
    async with (
        serving(server_config, adding(Notifications(Seen()))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await notification_pb2_grpc.NotificationServiceStub(ch).MarkRead(
                notification_pb2.MarkReadRequest(), timeout=T
            )

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_server_streaming_requests_are_validated(
    server_config: ServerInterceptorConfig, tokens: Tokens
) -> None:
    seen = Seen()
    async with (
        serving(server_config, adding(MarketData(seen))) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        stub = marketdata_pb2_grpc.MarketDataServiceStub(ch)
        auth = bearer(tokens.access("viewer"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in stub.StreamQuotes(
                marketdata_pb2.StreamQuotesRequest(symbols=["AAPL", "aapl"]),
                metadata=auth,
                timeout=T,
            ):
                pass
        quotes = [
            response.quote.symbol
            async for response in stub.StreamQuotes(
                marketdata_pb2.StreamQuotesRequest(symbols=["AAPL", "MSFT"]),
                metadata=auth,
                timeout=T,
            )
        ]

    violations = _violations(raised.value)
    assert list(violations) == ["symbols[1]"]
    assert "^[A-Z][A-Z0-9.-]{0,11}$" in violations["symbols[1]"]
    assert quotes == ["AAPL", "MSFT"]
    assert len(seen.contexts) == 1


@pytest.mark.parametrize(
    ("subscript", "expected"),
    [
        (None, "spec.labels"),
        (Oneof("index", 3), "spec.labels[3]"),
        (Oneof("string_key", 'env "prod"'), 'spec.labels["env \\"prod\\""]'),
        (Oneof("bool_key", True), "spec.labels[true]"),
        (Oneof("int_key", -2), "spec.labels[-2]"),
    ],
)
def test_field_paths(subscript: Oneof | None, expected: str) -> None:
    violation = protovalidate.Violation(
        field=protovalidate.FieldPathPb(
            elements=[
                protovalidate.FieldPathElementPb(field_name="spec"),
                protovalidate.FieldPathElementPb(field_name="labels", subscript=subscript),
            ]
        ),
        message="bad",
    )

    assert field_path(violation) == expected


def test_types_with_rules_of_their_own_or_inside_are_known_from_those_without() -> None:
    assert not has_rules(identity_pb2.GetMeRequest.DESCRIPTOR)
    assert has_rules(identity_pb2.RegisterRequest.DESCRIPTOR)  # rules on its own fields
    # No rules of its own, but its user field's type has some.
    assert not any(
        field.full_name.startswith("buf.validate.")
        for each in identity_pb2.GetMeResponse.DESCRIPTOR.fields
        for field, _ in each.GetOptions().ListFields()
    )
    assert has_rules(identity_pb2.GetMeResponse.DESCRIPTOR)


def test_every_type_said_to_have_no_rules_really_has_none() -> None:
    validator = protovalidate.Validator()
    for module in (identity_pb2, marketdata_pb2, notification_pb2):
        for descriptor in module.DESCRIPTOR.message_types_by_name.values():
            if has_rules(descriptor):
                continue
            message_class = getattr(module, descriptor.name)
            # A type without rules accepts even a message with every field left unset.
            assert validator.collect_violations(message_class()) == [], descriptor.full_name

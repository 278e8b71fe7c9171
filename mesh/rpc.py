"""What caller and server agree on about an RPC: its name, its kind, the metadata keys."""

from __future__ import annotations

from dataclasses import dataclass

CORRELATION_ID_KEY = "x-correlation-id"
AUTHORIZATION_KEY = "authorization"

# grpc_type label values, as go-grpc-prometheus writes them, by (request, response) streaming.
_GRPC_TYPES: dict[tuple[bool, bool], str] = {
    (False, False): "unary",
    (False, True): "server_stream",
    (True, False): "client_stream",
    (True, True): "bidi_stream",
}


def bearer_metadata(token: str) -> tuple[str, str]:
    """The metadata entry that carries a user's access token."""
    return (AUTHORIZATION_KEY, f"Bearer {token}")


@dataclass(frozen=True, slots=True)
class RpcInfo:
    """What an interceptor knows about the RPC before it runs."""

    full_method: str  # "/trademesh.identity.v1.IdentityService/Login"
    service: str  # "trademesh.identity.v1.IdentityService"
    method: str  # "Login"
    request_streaming: bool
    response_streaming: bool

    @property
    def grpc_type(self) -> str:
        return _GRPC_TYPES[(self.request_streaming, self.response_streaming)]

    @classmethod
    def parse(
        cls, full_method: str | bytes, *, request_streaming: bool, response_streaming: bool
    ) -> RpcInfo:
        if isinstance(full_method, bytes):
            full_method = full_method.decode("utf-8", "replace")
        service, _, method = full_method.lstrip("/").rpartition("/")
        return cls(
            full_method=full_method,
            service=service or "unknown",
            method=method or "unknown",
            request_streaming=request_streaming,
            response_streaming=response_streaming,
        )

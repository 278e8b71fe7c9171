"""Error answers of the edge: a `google.rpc.Status` as JSON, its HTTP status from the one table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from google.rpc import status_pb2
from starlette.responses import Response

from edge.errors import EdgeError, error_headers, grpc_code, http_status, status_json

JSON_MEDIA_TYPE = "application/json"


def json_bytes(value: Any) -> bytes:
    """Compact JSON, UTF-8 as it is (no \\u escapes)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def status_body(status: status_pb2.Status) -> bytes:
    return json_bytes(status_json(status))


def error_response(
    status: status_pb2.Status,
    headers: Mapping[str, str] | None = None,
    *,
    http_status_code: int | None = None,
) -> Response:
    """The answer for a failed call: HTTP status from the gRPC code (unless
    `http_status_code` is more precise), the status's own headers (WWW-Authenticate,
    Retry-After), then `headers`."""
    merged = error_headers(status)
    if headers:
        merged.update(headers)
    return Response(
        status_body(status),
        status_code=http_status_code or http_status(grpc_code(status)),
        headers=merged,
        media_type=JSON_MEDIA_TYPE,
    )


def edge_error_response(error: EdgeError) -> Response:
    return error_response(error.status, error.headers, http_status_code=error.http_status)

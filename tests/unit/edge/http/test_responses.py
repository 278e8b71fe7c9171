"""Error answers: a google.rpc.Status in JSON, the HTTP status from the one table."""

from __future__ import annotations

import json

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from edge.errors import EdgeError, make_status, status_json
from edge.http.responses import edge_error_response, error_response


def test_the_status_becomes_json_with_its_details_and_mapped_http_status() -> None:
    status = make_status(
        grpc.StatusCode.NOT_FOUND,
        "order ord-1 not found",
        [error_details_pb2.ResourceInfo(resource_type="order", resource_name="ord-1")],
    )

    response = error_response(status, {"X-Extra": "1"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-extra"] == "1"
    body = json.loads(bytes(response.body))
    assert body == status_json(status)
    assert body["details"][0]["resourceName"] == "ord-1"


def test_unauthenticated_carries_www_authenticate() -> None:
    response = error_response(make_status(grpc.StatusCode.UNAUTHENTICATED, "token expired"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_resource_exhausted_carries_retry_after_from_retry_info() -> None:
    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=1))
    response = error_response(make_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", [info]))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


def test_unmapped_codes_answer_500() -> None:
    assert error_response(make_status(grpc.StatusCode.DATA_LOSS, "lost")).status_code == 500


def test_json_keeps_text_as_it_is() -> None:
    response = error_response(make_status(grpc.StatusCode.INVALID_ARGUMENT, "prix: négatif"))
    assert "négatif".encode() in response.body
    assert bytes(response.body).startswith(b'{"code":3,"message":"prix: n')  # compact separators


def test_an_edge_error_keeps_its_own_http_status_and_headers() -> None:
    error = EdgeError(
        grpc.StatusCode.UNIMPLEMENTED,
        "method not allowed",
        http_status=405,
        headers={"Allow": "GET"},
    )

    response = edge_error_response(error)

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert json.loads(bytes(response.body))["code"] == grpc.StatusCode.UNIMPLEMENTED.value[0]

"""The OpenAPI 3.1 document of the REST surface, generated from the route table: paths,
parameters and bodies from the bindings, schemas from the messages, security from the access
option, success codes from ours, and one error schema (`google.rpc.Status`) for every error."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, cast

from google.protobuf.descriptor import Descriptor
from google.rpc import status_pb2

from edge.contracts import MethodContract
from edge.docs.comments import NO_COMMENTS
from edge.docs.parameters import field_at, path_parameters, query_parameters, request_body
from edge.docs.schemas import Schema, SchemaSet
from edge.rest.routes import Route

OPENAPI_VERSION = "3.1.0"
# The error body everywhere; its details are Any, so written with their `@type`.
STATUS = cast(Descriptor, status_pb2.Status.DESCRIPTOR)
SECURITY_SCHEME = "bearerAuth"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

# Every error the edge answers with, as a reusable response; all carry a google.rpc.Status.
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: (
        "BadRequest",
        "The request is malformed or failed validation (INVALID_ARGUMENT, "
        "FAILED_PRECONDITION, OUT_OF_RANGE); BadRequest details name the fields.",
    ),
    401: ("Unauthenticated", "The bearer token is missing, invalid, expired or revoked."),
    403: ("PermissionDenied", "The caller's roles do not allow this method or resource."),
    404: ("NotFound", "No such resource (or route)."),
    409: ("Conflict", "The resource already exists or the call was aborted by a concurrent one."),
    429: ("TooManyRequests", "Rate limited; `Retry-After` says when to come back."),
    500: ("Internal", "The server failed; the correlation id in the details finds its logs."),
    503: ("Unavailable", "The service is unavailable; retry with backoff."),
    504: ("DeadlineExceeded", "The call did not finish within its deadline."),
}

STREAM_NOTE = (
    "A server stream. Clients that accept `text/event-stream` get Server-Sent Events: each "
    "message as an `event: message` with its sequence number as `id` and its JSON as `data`. "
    "Others get newline-delimited JSON, one message per line. A failure after the first "
    "message ends the stream with a final error frame holding a `google.rpc.Status`: an "
    '`event: error`, or an `{"error": Status}` line.'
)


def openapi_document(
    routes: Iterable[Route], info: Mapping[str, Any], comments: Mapping[str, str] = NO_COMMENTS
) -> dict[str, Any]:
    """`info` is the OpenAPI Info object (at least `title` and `version`); `comments` maps
    full names to proto comments (see `edge.docs.comments`) for descriptions."""
    check_info(info)
    schemas = SchemaSet(comments)
    status = schemas.ref(STATUS)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, str] = {}
    bindings: Counter[str] = Counter()
    for route in routes:
        verb = route.http_method.lower()
        if verb not in HTTP_METHODS:
            continue  # a custom verb has no OpenAPI operation to describe it
        contract = route.method
        service = contract.descriptor.containing_service
        tags.setdefault(service.name, comments.get(service.full_name, ""))
        bindings[contract.name] += 1
        operation = _operation(route, schemas, comments, bindings[contract.name])
        paths.setdefault(route.template.openapi_path, {})[verb] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": dict(info),
        "tags": [_tag(name, text) for name, text in sorted(tags.items())],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.schemas.items())),
            "responses": {
                name: {
                    "description": text,
                    "content": {"application/json": {"schema": dict(status)}},
                }
                for name, text in ERROR_RESPONSES.values()
            },
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from `POST /api/v1/auth/login`.",
                }
            },
        },
    }


def _operation(
    route: Route, schemas: SchemaSet, comments: Mapping[str, str], binding: int
) -> dict[str, Any]:
    contract = route.method
    text = comments.get(contract.name, "")
    roles = sorted(contract.access.roles) if contract.access is not None else []
    public = is_public(contract)
    notes = [text] if text else []
    if contract.server_streaming:
        notes.append(STREAM_NOTE)
    if not public:
        notes.append(f"Roles: {', '.join(roles)}." if roles else "Any signed-in user.")
    operation: dict[str, Any] = {
        # An additional binding of the same RPC is another operation with its own id.
        "operationId": contract.name if binding == 1 else f"{contract.name}_{binding}",
        "summary": _summary(text) or contract.descriptor.name,
        "description": "\n\n".join(notes),
        "tags": [contract.descriptor.containing_service.name],
        "x-grpc-method": contract.full_method,
    }
    parameters = path_parameters(route, schemas) + query_parameters(route, schemas)
    if parameters:
        operation["parameters"] = parameters
    body = request_body(route, schemas)
    if body is not None:
        operation["requestBody"] = body
    operation["responses"] = {
        str(contract.success_code): _success(route, schemas),
        **{
            str(code): {"$ref": f"#/components/responses/{name}"}
            for code, (name, _) in ERROR_RESPONSES.items()
        },
    }
    operation["security"] = [] if public else [{SECURITY_SCHEME: []}]
    if not public:
        operation["x-roles"] = roles
    return operation


def _success(route: Route, schemas: SchemaSet) -> dict[str, Any]:
    contract = route.method
    if contract.success_code == 204:
        return {"description": "Done; no content."}
    if contract.server_streaming:
        message = schemas.ref(contract.output)
        final = {
            "type": "object",
            "properties": {"error": schemas.ref(STATUS)},
            "required": ["error"],
        }
        return {
            "description": f"A stream of {contract.output.name} messages.",
            "content": {
                "text/event-stream": {"schema": {"type": "string"}, "x-item-schema": message},
                "application/x-ndjson": {"schema": {"anyOf": [message, final]}},
            },
        }
    return {
        "description": f"The {contract.output.name}.",
        "content": _response_content(route, schemas),
    }


def _response_content(route: Route, schemas: SchemaSet) -> dict[str, Any]:
    contract = route.method
    if not route.response_body:
        return {"application/json": {"schema": schemas.ref(contract.output)}}
    field = field_at(contract.output, (route.response_body,))
    schema: Schema = schemas.field(field)
    if schema.get("format") == "byte":
        # Bytes answered as the body are the raw bytes, under the media type the answer names.
        return {"*/*": {"schema": {"description": schema.get("description", "The content.")}}}
    return {"application/json": {"schema": schema}}


def _summary(text: str) -> str:
    first = text.split("\n\n", 1)[0].replace("\n", " ")
    end = first.find(". ")
    return first if end < 0 else first[: end + 1]


def check_info(info: Mapping[str, Any]) -> None:
    """Both documents require an Info object with a string title and version."""
    for key in ("title", "version"):
        if not isinstance(info.get(key), str) or not info[key]:
            raise ValueError(f"info.{key}: required, a non-empty string")


def _tag(name: str, description: str) -> dict[str, str]:
    return {"name": name, "description": description} if description else {"name": name}


def is_public(contract: MethodContract) -> bool:
    return contract.access is not None and contract.access.public

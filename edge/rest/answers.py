"""How a successful answer is rendered: the success code from the contract, the whole
response or its `response_body` field as JSON, and a bytes field sent as a file."""

from __future__ import annotations

import json

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from starlette.responses import Response

from edge.codec import codec_for
from edge.rest.routes import Route

JSON = "application/json"

# A bytes `response_body` is the file itself; these sibling fields of the response, when the
# message has them, give its Content-Type and the name in Content-Disposition.
_CONTENT_TYPE_FIELD = "content_type"
_FILENAME_FIELD = "filename"


def success_response(route: Route, response: Message, headers: dict[str, str]) -> Response:
    code = route.method.success_code
    if code == 204:
        return Response(status_code=204, headers=headers)
    if not route.response_body:
        return Response(codec_for(response.DESCRIPTOR).encode(response), code, headers, JSON)
    field = response.DESCRIPTOR.fields_by_name[route.response_body]
    value = getattr(response, route.response_body)
    if field.type == FieldDescriptor.TYPE_BYTES and not field.is_repeated:
        return _file(response, value, code, headers)
    if field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated:
        return Response(codec_for(field.message_type).encode(value), code, headers, JSON)
    # A scalar or repeated field: its JSON value, as the codec renders it inside the message.
    body = codec_for(response.DESCRIPTOR).to_dict(response).get(field.json_name)
    return Response(_dumps(body), code, headers, JSON)


def _file(response: Message, content: bytes, code: int, headers: dict[str, str]) -> Response:
    fields = response.DESCRIPTOR.fields_by_name
    media_type = "application/octet-stream"
    if _CONTENT_TYPE_FIELD in fields and getattr(response, _CONTENT_TYPE_FIELD):
        media_type = getattr(response, _CONTENT_TYPE_FIELD)
    if _FILENAME_FIELD in fields and getattr(response, _FILENAME_FIELD):
        name = getattr(response, _FILENAME_FIELD).replace('"', "")
        headers = {**headers, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, code, headers, media_type)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

"""The AsyncAPI 3 document of the Socket.IO surface: a channel per room pattern of the reachable
server streams, its events as the stream's messages in the `{room, seq, data}` envelope, and
the `subscribe`/`unsubscribe` requests with their acknowledgements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.contracts import Contracts
from edge.docs.comments import NO_COMMENTS
from edge.docs.openapi import STATUS, check_info
from edge.docs.schemas import Schema, SchemaSet
from edge.realtime.rooms import RoomPattern, RoomTable
from edge.realtime.server import SESSION_REVOKED
from edge.realtime.stream import EVENT, ROOM_ERROR, ROOM_STATUS

ASYNCAPI_VERSION = "3.0.0"
SECURITY_SCHEME = "token"
SUBSCRIBE, UNSUBSCRIBE = "subscribe", "unsubscribe"
# The channel of what a connection receives outside any room.
CONNECTION = "connection"


def asyncapi_document(
    contracts: Contracts,
    info: Mapping[str, Any],
    comments: Mapping[str, str] = NO_COMMENTS,
    servers: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`info` is the AsyncAPI Info object (at least `title` and `version`); `servers`, when
    given, the Servers object (each server gets the token security)."""
    check_info(info)
    schemas = SchemaSet(comments)
    status = schemas.ref(STATUS)
    security = [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}]
    messages = _shared_messages(status)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for pattern in RoomTable.build(contracts).patterns:
        name = pattern.prefix.rstrip(":")
        event = f"{name}.{EVENT}"
        messages[event] = _event_message(pattern, schemas, comments)
        channels[name] = _channel(pattern, event, comments)
        operations.update(_operations(name, security))
    channels[CONNECTION] = {
        "address": None,
        "description": "Events a connection receives outside any room.",
        "messages": {"sessionRevoked": {"$ref": "#/components/messages/sessionRevoked"}},
    }
    operations["connection.revoked"] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{CONNECTION}"},
        "summary": "The session was revoked (logout, reuse of a refresh token): the socket is "
        "disconnected right after.",
        "messages": [{"$ref": f"#/channels/{CONNECTION}/messages/sessionRevoked"}],
        "security": security,
    }
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": dict(info),
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.schemas.items())),
            "messages": messages,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The access token in the Socket.IO handshake's auth payload, "
                    '`io(url, {auth: {token: "<access token>"}})`. Without a valid one the '
                    "connection is refused with a `connect_error` whose data is a "
                    "`google.rpc.Status`.",
                }
            },
        },
    }
    if servers is not None:
        document["servers"] = {
            name: {**server, "security": security} for name, server in servers.items()
        }
    return document


def _channel(pattern: RoomPattern, event: str, comments: Mapping[str, str]) -> dict[str, Any]:
    method = pattern.method
    parameters = {}
    for binding in pattern.bindings:
        if binding.field is None:
            text = f"The caller's own `{binding.name}` (from the token); no other is joinable."
        elif binding.field.is_repeated:
            text = f"One element of the request's `{binding.name}`: a room per element."
        else:
            text = f"The request's `{binding.name}`."
        parameters[binding.name] = {"description": text}
    description = comments.get(method.name, "") or f"Fed by {method.name}."
    return {
        "address": pattern.pattern,
        "title": pattern.pattern,
        "description": f"{description}\n\nOne upstream {method.descriptor.name} stream per room, "
        "shared by its members.",
        "parameters": parameters,
        "messages": {
            EVENT: {"$ref": f"#/components/messages/{event}"},
            **{
                key: {"$ref": f"#/components/messages/{key}"}
                for key in ("subscribe", "subscribeAck", "unsubscribe", "unsubscribeAck")
            },
            "roomStatus": {"$ref": "#/components/messages/roomStatus"},
            "roomError": {"$ref": "#/components/messages/roomError"},
        },
    }


def _operations(channel: str, security: list[dict[str, str]]) -> dict[str, Any]:
    here = {"$ref": f"#/channels/{channel}"}

    def message(key: str) -> dict[str, str]:
        return {"$ref": f"#/channels/{channel}/messages/{key}"}

    return {
        f"{channel}.receive": {
            "action": "receive",
            "channel": here,
            "summary": "Each message of the stream, as the Socket.IO event `event`.",
            "messages": [message(EVENT)],
            "security": security,
        },
        f"{channel}.subscribe": {
            "action": "send",
            "channel": here,
            "summary": "Join a room; the service decides who may. With `since`, the events "
            "after it are replayed, or `resync` says they are gone.",
            "messages": [message("subscribe")],
            "reply": {"channel": here, "messages": [message("subscribeAck")]},
            "security": security,
        },
        f"{channel}.unsubscribe": {
            "action": "send",
            "channel": here,
            "summary": "Leave a room; the last member out closes its upstream stream.",
            "messages": [message("unsubscribe")],
            "reply": {"channel": here, "messages": [message("unsubscribeAck")]},
            "security": security,
        },
        f"{channel}.status": {
            "action": "receive",
            "channel": here,
            "summary": "The room's upstream stream failed and is retried (`room_status`), or "
            "ended for good and the members were removed (`room_error`).",
            "messages": [message("roomStatus"), message("roomError")],
            "security": security,
        },
    }


def _event_message(
    pattern: RoomPattern, schemas: SchemaSet, comments: Mapping[str, str]
) -> dict[str, Any]:
    output = pattern.method.output
    return {
        "name": EVENT,
        "title": f"{pattern.pattern} event",
        "summary": comments.get(output.full_name, "") or f"One {output.name}.",
        "payload": _object(
            room=_room(pattern),
            seq={"type": "integer", "minimum": 1, "description": "The room's sequence number."},
            data=schemas.ref(output),
        ),
    }


def _shared_messages(status: Schema) -> dict[str, Any]:
    error = _object(error=status)
    room: Schema = {"type": "string", "description": "A room name, such as `quotes:AAPL`."}
    since = {
        "type": "integer",
        "minimum": 0,
        "description": "The last `seq` received, to replay what was missed.",
    }
    ok = {"const": True}
    return {
        "subscribe": _message(SUBSCRIBE, _object(["room"], room=room, since=since)),
        "subscribeAck": _message(
            f"{SUBSCRIBE} ack",
            {
                "oneOf": [
                    _object(
                        ok=ok,
                        room=room,
                        seq={"type": "integer", "minimum": 0},
                        resync={"type": "boolean", "description": "Missed events are gone."},
                    ),
                    error,
                ]
            },
        ),
        "unsubscribe": _message(UNSUBSCRIBE, _object(room=room)),
        "unsubscribeAck": _message(
            f"{UNSUBSCRIBE} ack",
            {"oneOf": [_object(ok=ok, room=room, left={"type": "boolean"}), error]},
        ),
        "roomStatus": _message(
            ROOM_STATUS,
            _object(
                ["room", "state"],
                room=room,
                state={"type": "string", "enum": ["retrying", "live"]},
                attempt={"type": "integer", "minimum": 0},
                error=status,
            ),
        ),
        "roomError": _message(ROOM_ERROR, _object(room=room, error=status)),
        "sessionRevoked": _message(SESSION_REVOKED, error),
    }


def _message(name: str, payload: Schema) -> dict[str, Any]:
    return {"name": name, "payload": payload}


def _object(required: list[str] | None = None, **properties: Schema) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _room(pattern: RoomPattern) -> Schema:
    return {
        "type": "string",
        "pattern": f"^{pattern.regex.pattern}$",
        "description": f"The room, as `{pattern.pattern}`.",
    }

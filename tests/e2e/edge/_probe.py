"""A service that exists only in the test that starts it: its contract built at run time
(package trademesh.probe.v1, annotated as ours are), answered by a generic handler from a
private descriptor pool, on an mTLS mesh server registered in the platform's Consul with v1
server reflection over that pool — nothing of it is compiled into the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection
from trademesh.options.v1 import options_pb2

from mesh.server import MeshServer, ServerConfig, Servicer, ServiceSpec
from tests.unit.edge.discovery._probe import V1, private_pool, reflection_handler

PACKAGE = "trademesh.probe.v1"
SERVICE = f"{PACKAGE}.ProbeService"
GET = "GetProbe"
ECHO = "EchoProbe"

GET_PATH = "/api/v1/probe/{name}"
ECHO_PATH = "/api/v1/probe/{name}:echo"

_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
# Each method's binding: (verb, path template, body).
_BINDINGS = {GET: ("get", GET_PATH, ""), ECHO: ("post", ECHO_PATH, "*")}


def probe_contract(*methods: str) -> descriptor_pb2.FileDescriptorProto:
    """The probe's contract with `methods` (GET, ECHO), each public: GetProbe is
    `GET /api/v1/probe/{name}`, EchoProbe `POST /api/v1/probe/{name}:echo` with body `*`."""
    f = descriptor_pb2.FileDescriptorProto(
        name="trademesh/probe/v1/probe.proto", package=PACKAGE, syntax="proto3"
    )
    f.dependency.extend(["google/api/annotations.proto", "trademesh/options/v1/options.proto"])
    request = f.message_type.add(name="ProbeRequest")
    reply = f.message_type.add(name="ProbeReply")
    for message, fields in (
        (request, ("name", "extra_text")),
        (reply, ("echoed_name", "echoed_text", "served_by")),
    ):
        for number, field in enumerate(fields, start=1):
            message.field.add(
                name=field, json_name=_camel(field), number=number, type=_STRING, label=_OPTIONAL
            )
    service = f.service.add(name="ProbeService")
    for name in methods:
        method = service.method.add(
            name=name, input_type=f".{PACKAGE}.ProbeRequest", output_type=f".{PACKAGE}.ProbeReply"
        )
        verb, path, body = _BINDINGS[name]
        extensions: Any = method.options.Extensions  # the stubs do not type custom options
        rule = extensions[annotations_pb2.http]
        setattr(rule, verb, path)
        rule.body = body
        extensions[options_pb2.access].public = True
    return f


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _handler(pool: descriptor_pool.DescriptorPool, label: str) -> grpc.GenericRpcHandler:
    """Every method answers with the request's values and `<label>/<method>`."""
    handlers = {m.name: _answer(m, label) for m in pool.FindServiceByName(SERVICE).methods}
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


def _answer(method: Any, label: str) -> grpc.RpcMethodHandler[Any, Any]:
    request_class = message_factory.GetMessageClass(method.input_type)
    reply_class = message_factory.GetMessageClass(method.output_type)

    async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return reply_class(
            echoed_name=request.name,
            echoed_text=request.extra_text,
            served_by=f"{label}/{method.name}",
        )

    return grpc.unary_unary_rpc_method_handler(
        unary,
        request_deserializer=request_class.FromString,
        response_serializer=reply_class.SerializeToString,
    )


def probe_server(
    name: str, consul_address: str, tls_dir: Path, methods: tuple[str, ...], label: str
) -> MeshServer:
    """A mesh server registered in Consul as `name` (mTLS, its certificate from the CA in
    `tls_dir`) serving the probe with `methods`, answering as `label`."""
    pool = private_pool(probe_contract(*methods))

    def install(_: object, server: grpc.aio.Server) -> None:
        # v1 over the private pool: the edge asks v1 first, so the mesh server's own v1alpha
        # reflection (the default pool, which has no probe) is never read.
        servicer = reflection.aio.ReflectionServicer([SERVICE, V1], pool=pool)
        server.add_generic_rpc_handlers((_handler(pool, label), reflection_handler(servicer, V1)))

    config = ServerConfig(
        consul_address=consul_address,
        tls_dir=tls_dir,
        shutdown_delay_seconds=0.1,
        grace_seconds=1.0,
        check_interval_seconds=0.5,
    )
    return MeshServer(ServiceSpec(name=name, servicers=[Servicer(install, None, SERVICE)]), config)

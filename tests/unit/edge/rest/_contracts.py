"""Synthetic contracts for the route and request tests: messages compiled once by protoc, and
per test a service whose methods carry whatever `google.api.http` bindings the test names,
all in a descriptor pool of their own (never the default one)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import grpc_tools  # type: ignore[import-untyped]
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from trademesh.options.v1 import options_pb2

from edge.contracts import Contracts, MethodContract
from edge.rest.routes import RouteMatch, RouteTable

# google.api.http as an extension handle (its stub types it as a plain FieldDescriptor).
_HTTP: Any = annotations_pb2.http

WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"

MESSAGES = """
syntax = "proto3";
package rest.v1;

import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Side {
  SIDE_UNSPECIFIED = 0;
  SIDE_BUY = 1;
  SIDE_SELL = 2;
}

message Page {
  int32 size = 1;
  string token = 2;
}

message Filter {
  Page page = 1;
  repeated string tags = 2;
  Side side = 3;
}

message Item {
  message Detail {
    string colour = 1;
    int32 weight = 2;
  }
  string name = 1;
  string display_name = 2;
  Detail detail = 3;
  map<string, string> labels = 4;
  google.protobuf.Struct extra = 5;
  repeated string tags = 6;
  google.protobuf.Timestamp created = 7;
}

message Child { string id = 1; }
message Parent {
  string id = 1;
  Child child = 2;
}

message Request {
  string name = 1;
  string user_id = 2;
  Item item = 3;
  Page page = 4;
  Filter filter = 5;
  repeated string symbols = 6;
  Side side = 7;
  bool flag = 8;
  int32 count = 9;
  int64 big = 10;
  uint32 small = 11;
  double ratio = 12;
  float rough = 13;
  bytes blob = 14;
  google.protobuf.Timestamp since = 15;
  google.protobuf.Duration within = 16;
  google.protobuf.FieldMask update_mask = 17;
  google.protobuf.Int32Value limit = 18;
  google.protobuf.BoolValue enabled = 19;
  google.protobuf.StringValue label = 20;
  map<string, string> labels = 21;
  google.protobuf.Struct document = 22;
  oneof choice {
    string left = 23;
    string right = 24;
  }
  repeated Side sides = 25;
  repeated int64 ids = 26;
  string path = 27;
  Parent parent = 28;
  repeated Page pages = 29;
  google.protobuf.DoubleValue price = 30;
  string custom = 31 [json_name = "otherName"];
  repeated google.protobuf.Timestamp moments = 32;
}

message Plain {
  string name = 1;
  Item item = 2;
}

message Response {
  Item item = 1;
  string content = 2;
}
"""


@cache
def _messages() -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "src"
        (source / "rest/v1").mkdir(parents=True)
        (source / "rest/v1/messages.proto").write_text(MESSAGES)
        target = Path(scratch) / "messages.binpb"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"--proto_path={source}",
                f"--proto_path={WELL_KNOWN}",
                "--include_imports",
                f"--descriptor_set_out={target}",
                "rest/v1/messages.proto",
            ],
            check=True,
            capture_output=True,
        )
        return tuple(descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes()).file)


@dataclass
class Rpc:
    """One method of the synthetic service."""

    name: str
    http: http_pb2.HttpRule | None = None
    request: str = "Request"
    response: str = "Response"
    public: bool = True
    callers: list[str] = field(default_factory=list)
    access: bool = True  # False: declares no access rule at all
    server_streaming: bool = False


def rule(method: str = "get", path: str = "/v1/things", **fields: object) -> http_pb2.HttpRule:
    """`rule("patch", "/v1/items/{name}", body="item")`; additional_bindings as a list."""
    made = http_pb2.HttpRule(**fields)  # type: ignore[arg-type]
    if method in ("get", "put", "post", "delete", "patch"):
        setattr(made, method, path)
    else:
        made.custom.kind = method
        made.custom.path = path
    return made


def contracts(*rpcs: Rpc) -> Contracts:
    service = descriptor_pb2.ServiceDescriptorProto(name="ThingService")
    for rpc in rpcs:
        options = descriptor_pb2.MethodOptions()
        if rpc.http is not None:
            options.Extensions[_HTTP].CopyFrom(rpc.http)
        if rpc.access:
            access = options.Extensions[options_pb2.access]
            access.public = rpc.public and not rpc.callers
            access.callers.extend(rpc.callers)
        service.method.add(
            name=rpc.name,
            input_type=f".rest.v1.{rpc.request}",
            output_type=f".rest.v1.{rpc.response}",
            options=options,
            server_streaming=rpc.server_streaming,
        )
    file = descriptor_pb2.FileDescriptorProto(
        name="rest/v1/service.proto",
        package="rest.v1",
        syntax="proto3",
        dependency=["rest/v1/messages.proto"],
        service=[service],
    )
    pool = descriptor_pool.DescriptorPool()
    for dependency in _messages():
        pool.Add(dependency)
    pool.Add(file)
    return Contracts.build([("things", pool.FindServiceByName("rest.v1.ThingService"))])


def table(*rpcs: Rpc) -> RouteTable:
    return RouteTable.build(contracts(*rpcs))


def method(found: Contracts, name: str) -> MethodContract:
    contract = found.find(f"/rest.v1.ThingService/{name}")
    assert contract is not None
    return contract


def matched(routes: RouteTable, http_method: str, path: str) -> tuple[str, dict[str, str]]:
    """(RPC name, variables) of the route a request reaches."""
    found: RouteMatch = routes.match(http_method, path)
    return found.route.method.descriptor.name, found.variables

"""A sample contract compiled with its comments (source info) into a pool of its own, covering
every JSON form the proto3 mapping has, for the schema and comment tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2, descriptor_pool

WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"

SAMPLE = """
syntax = "proto3";

// Sample types for the schema tests.
package sample.v1;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// The colour of a thing.
enum Colour {
  // Not set.
  COLOUR_UNSPECIFIED = 0;
  // Red, as blood.
  COLOUR_RED = 1;
}

// Everything at once.
message Everything {
  // A big count.
  int64 big = 1;
  uint64 bigger = 2;
  int32 small = 3;
  uint32 unsigned_small = 4;
  double ratio = 5;
  float rough = 6;
  bool flag = 7;
  string text = 8;
  bytes blob = 9;
  Colour colour = 10;
  repeated string tags = 11;
  map<string, int64> counts = 12;
  oneof choice {
    string left = 13;
    Everything right = 14;
  }
  optional string maybe = 15;
  google.protobuf.Timestamp when = 16;
  google.protobuf.Duration how_long = 17;
  google.protobuf.FieldMask mask = 18;
  google.protobuf.Struct document = 19;
  google.protobuf.Value anything = 20;
  google.protobuf.Int64Value wrapped_big = 21;
  google.protobuf.StringValue wrapped_text = 22;
  google.protobuf.Empty nothing = 23;
  google.protobuf.Any packed = 24;
  repeated Everything children = 25;
  google.protobuf.ListValue list = 26;
  Inner inner = 27;

  // Nested inside Everything.
  message Inner {
    // How deep.
    int32 depth = 1;
  }
}

// Calls on everything.
service SampleService {
  // Does a thing.
  rpc Do(Everything) returns (Everything);
  // Answers nothing.
  rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty);
}
"""


def compile_sample(tmp: Path) -> descriptor_pb2.FileDescriptorSet:
    source = tmp / "src"
    (source / "sample/v1").mkdir(parents=True)
    (source / "sample/v1/sample.proto").write_text(SAMPLE)
    target = tmp / "sample.binpb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={source}",
            f"--proto_path={WELL_KNOWN}",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={target}",
            "sample/v1/sample.proto",
        ],
        check=True,
        capture_output=True,
    )
    return descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes())


def sample_pool(files: descriptor_pb2.FileDescriptorSet) -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return pool

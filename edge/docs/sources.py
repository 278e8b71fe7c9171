"""Comments of the contracts in a checkout's `proto/`, compiled with their source info (which
the generated modules leave out), for the descriptions of the documents."""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2

from edge.docs.comments import comments_from_files
from mesh.codegen import Layout, collect_third_party
from mesh.codegen.errors import CodegenError
from mesh.codegen.third_party import first_party_files

log = logging.getLogger(__name__)


def source_comments(layout: Layout | None = None) -> dict[str, str]:
    """Every commented element of `proto/` by full name; empty, with a warning, when there is
    no checkout or it does not compile (the documents then go without descriptions). Blocking:
    it runs protoc, so call it from a thread in an event loop."""
    try:
        layout = layout or Layout.discover()
        with tempfile.TemporaryDirectory(prefix="trademesh-docs-") as scratch_dir:
            scratch = Path(scratch_dir)
            collect_third_party(layout, scratch / "protos")
            target = scratch / "descriptors.binpb"
            command = [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"--proto_path={layout.proto_dir}",
                f"--proto_path={scratch / 'protos'}",
                "--include_source_info",
                f"--descriptor_set_out={target}",
                *first_party_files(layout.proto_dir),
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise CodegenError(result.stderr.strip() or f"protoc exit {result.returncode}")
            files = descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes())
    except (CodegenError, OSError) as error:
        log.warning("API documents without descriptions", extra={"error": str(error)})
        return {}
    return comments_from_files(files.file)

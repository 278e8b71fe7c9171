"""The generated documents, served by the edge through nginx: the OpenAPI 3.1 document is
valid, every operation in it answers (nothing documented is missing or unimplemented), and a
property-based run over it (schemathesis) provokes no server error."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from tests.e2e.edge._gateway import Gateway
from tests.e2e.edge._rest import ok, register

_VARIABLE = re.compile(r"\{([^}]+)\}")
# Path values that pass every route's validation shape: ids are UUIDs, symbols tickers.
_SAMPLES = {"symbol": "AAPL"}


def _fill(path: str) -> str:
    return _VARIABLE.sub(lambda m: _SAMPLES.get(m.group(1), str(uuid.uuid4())), path)


async def test_documents_are_served_and_valid(gateway: Gateway) -> None:
    async with gateway.client() as http:
        document = ok(await http.get("/openapi.json"))
        validate(document)
        assert document["openapi"].startswith("3.1")
        asyncapi = ok(await http.get("/asyncapi.json"))
        assert asyncapi["asyncapi"].startswith("3.")
        assert {"quotes:{symbols}", "orders:{user_id}"} <= {
            c["address"] for c in asyncapi["channels"].values()
        }
        page = await http.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]


async def test_every_documented_operation_answers(gateway: Gateway) -> None:
    async with gateway.client() as http:
        user = await register(http, trader=True)
        document: dict[str, Any] = ok(await http.get("/openapi.json"))
        checked = 0
        for path, operations in document["paths"].items():
            for verb in operations:
                if verb not in {"get", "post", "put", "patch", "delete"}:
                    continue
                streaming = "text/event-stream" in str(operations[verb].get("responses", {}))
                if streaming:
                    continue  # answered in test_http_streams
                answer = await http.request(
                    verb.upper(),
                    _fill(path),
                    json={} if verb in {"post", "put", "patch"} else None,
                    headers=user.headers,
                )
                checked += 1
                assert answer.status_code not in (405, 501), (verb, path, answer.text)
                if answer.status_code == 404:
                    reasons = [d.get("reason") for d in answer.json().get("details", [])]
                    assert "ROUTE_NOT_FOUND" not in reasons, (verb, path, answer.text)
                assert answer.status_code < 500, (verb, path, answer.text)
        assert checked >= 30


async def test_property_based_run_finds_no_server_error(gateway: Gateway, tmp_path: Path) -> None:
    async with gateway.client() as http:
        user = await register(http, trader=True)
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis is not None, "schemathesis is installed with the test extras"
    proc = await asyncio.create_subprocess_exec(
        schemathesis,
        "run",
        f"{gateway.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "8",
        "--request-timeout",
        "20",
        "--generation-deterministic",
        "--header",
        f"Authorization: Bearer {user.token}",
        # Signing out, or deleting the user, would leave the rest of the run unauthenticated.
        "--exclude-path",
        "/api/v1/auth/logout",
        # Streams never end by themselves; test_http_streams covers them.
        "--exclude-path-regex",
        ".*/stream$",
        "--exclude-operation-id",
        "trademesh.identity.v1.IdentityService.DeleteUser",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 240)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = output.decode(errors="replace")
    failures = text.split("WARNINGS")[0][-12000:]
    assert proc.returncode == 0, failures + "\n" + gateway.logs()

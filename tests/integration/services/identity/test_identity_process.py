"""The identity service as it runs in production: `python -m services.identity` in its own
process, mTLS, registered in the real Consul, called through the mesh client and grpcurl."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
import pytest_asyncio
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from trademesh.identity.v1 import identity_pb2 as pb
from trademesh.identity.v1 import identity_pb2_grpc as pb_grpc

from interceptors import bearer_metadata, status_details
from mesh import context
from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient
from mesh.infra import Consul
from mesh.tls import TlsConfig, load_service_credentials
from tests.conftest import eventually
from tests.integration.services._process import (
    ServiceProcess,
    grpcurl,
    run_to_exit,
    running_service,
)

PASSWORD = "correct horse battery staple"
ADMIN = ("root@trademesh.test", "admin password of some length")


@pytest_asyncio.fixture(scope="module")
async def identity(
    consul: Consul, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("identity")
    env = {
        "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
        "TRADEMESH_IDENTITY_ADMIN_EMAIL": ADMIN[0],
        "TRADEMESH_IDENTITY_ADMIN_PASSWORD": ADMIN[1],
    }
    async with running_service("identity", consul, workdir, env) as running:
        yield running


@pytest_asyncio.fixture
async def mesh(consul: Consul, identity: ServiceProcess) -> AsyncIterator[MeshClient]:
    creds = load_service_credentials(TlsConfig(identity.tls_dir), "edge")
    client = MeshClient(ClientConfig(consul_address=consul.address), credentials=creds)
    async with client:
        yield client


async def _stub(mesh: MeshClient) -> pb_grpc.IdentityServiceStub:
    return await mesh.stub(pb_grpc.IdentityServiceStub, "identity")


async def _error(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value


def _auth(token: str) -> tuple[tuple[str, str], ...]:
    return (bearer_metadata(token),)


async def test_register_login_refresh_logout_journey(
    identity: ServiceProcess, mesh: MeshClient
) -> None:
    stub = await _stub(mesh)
    email = "journey@example.com"
    registered = await stub.Register(
        pb.RegisterRequest(email=email, password=PASSWORD, display_name="Journey")
    )
    assert registered.user.email == email
    login = await stub.Login(pb.LoginRequest(email=email, password=PASSWORD))
    access = login.tokens.access_token

    me = await stub.GetMe(pb.GetMeRequest(), metadata=_auth(access))
    assert me.user.user_id == registered.user.user_id

    rotated = await stub.Refresh(pb.RefreshRequest(refresh_token=login.tokens.refresh_token))
    assert rotated.tokens.refresh_token != login.tokens.refresh_token
    me = await stub.GetMe(pb.GetMeRequest(), metadata=_auth(rotated.tokens.access_token))
    assert me.user.email == email

    # Reusing the spent refresh token revokes the whole session.
    error = await _error(stub.Refresh(pb.RefreshRequest(refresh_token=login.tokens.refresh_token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    error = await _error(stub.GetMe(pb.GetMeRequest(), metadata=_auth(rotated.tokens.access_token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED

    again = await stub.Login(pb.LoginRequest(email=email, password=PASSWORD))
    await stub.Logout(pb.LogoutRequest(), metadata=_auth(again.tokens.access_token))
    error = await _error(stub.GetMe(pb.GetMeRequest(), metadata=_auth(again.tokens.access_token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED

    log = identity.log()
    assert "GetMe" in log  # the access log saw these calls...
    for secret in (PASSWORD, access, login.tokens.refresh_token, rotated.tokens.access_token):
        assert secret not in log  # ...and never wrote a password or a token


async def test_missing_token_wrong_role_and_admin(mesh: MeshClient) -> None:
    stub = await _stub(mesh)
    error = await _error(stub.GetMe(pb.GetMeRequest()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED

    viewer = await stub.Register(
        pb.RegisterRequest(email="viewer@example.com", password=PASSWORD, display_name="Vi")
    )
    error = await _error(
        stub.ListUsers(pb.ListUsersRequest(), metadata=_auth(viewer.tokens.access_token))
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED

    admin = await stub.Login(pb.LoginRequest(email=ADMIN[0], password=ADMIN[1]))
    listed = await stub.ListUsers(
        pb.ListUsersRequest(page_size=100), metadata=_auth(admin.tokens.access_token)
    )
    assert {"viewer@example.com", ADMIN[0]} <= {u.email for u in listed.users}

    # A viewer cannot grant themselves roles; the admin can.
    promote = pb.UpdateUserRequest(
        user_id=viewer.user.user_id,
        user=pb.User(roles=[pb.ROLE_VIEWER, pb.ROLE_TRADER]),
        update_mask=field_mask_pb2.FieldMask(paths=["roles"]),
    )
    error = await _error(stub.UpdateUser(promote, metadata=_auth(viewer.tokens.access_token)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    updated = await stub.UpdateUser(promote, metadata=_auth(admin.tokens.access_token))
    assert set(updated.user.roles) == {pb.ROLE_VIEWER, pb.ROLE_TRADER}


async def test_bad_requests_get_field_violations(mesh: MeshClient) -> None:
    stub = await _stub(mesh)
    error = await _error(
        stub.Register(
            pb.RegisterRequest(email="not-an-email", password="short", display_name="Bad")
        )
    )
    details = status_details(error)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    bad_request = details.find(error_details_pb2.BadRequest)
    assert bad_request is not None
    assert {v.field for v in bad_request.field_violations} == {"email", "password"}


async def test_metrics_endpoint_counts_handled_calls(consul: Consul, mesh: MeshClient) -> None:
    stub = await _stub(mesh)
    (instance,) = mesh.instances("identity")
    url = f"http://127.0.0.1:{instance.meta['metrics_port']}/metrics"
    pattern = re.compile(
        r'grpc_server_handled_total\{grpc_code="Unauthenticated",grpc_method="GetMe",'
        r'grpc_service="trademesh.identity.v1.IdentityService",grpc_type="unary"\} (\S+)'
    )

    async def count() -> float:
        async with httpx.AsyncClient() as http:
            text = (await http.get(url)).text
        found = pattern.search(text)
        return float(found.group(1)) if found else 0.0

    before = await count()
    for _ in range(3):
        await _error(stub.GetMe(pb.GetMeRequest()))
    assert await count() == before + 3


async def test_grpcurl_lists_describes_and_logs_in_over_mtls(
    identity: ServiceProcess, mesh: MeshClient
) -> None:
    await mesh.connect("identity")
    (instance,) = mesh.instances("identity")
    tls = TlsConfig(identity.tls_dir)

    async def call(*args: str) -> str:
        code, output = await grpcurl(tls, "identity", *args)
        assert code == 0, output
        return output

    listed = await call(instance.address, "list")
    assert "trademesh.identity.v1.IdentityService" in listed.split()
    described = await call(instance.address, "describe", "trademesh.identity.v1.IdentityService")
    assert "rpc Login ( .trademesh.identity.v1.LoginRequest )" in described
    body = json.dumps({"email": ADMIN[0], "password": ADMIN[1]})
    login = json.loads(
        await call("-d", body, instance.address, "trademesh.identity.v1.IdentityService/Login")
    )
    assert login["user"]["email"] == ADMIN[0]
    assert login["tokens"]["token_type"] == "Bearer"

    # Without a client certificate the server refuses the connection.
    code, output = await grpcurl(tls, "identity", instance.address, "list", caller=None)
    assert code != 0, output


async def test_correlation_id_travels_from_the_caller_into_identity_logs(
    identity: ServiceProcess, mesh: MeshClient
) -> None:
    stub = await _stub(mesh)
    correlation_id = f"cid-{uuid.uuid4().hex}"
    with context.bind(correlation_id=correlation_id):
        await _error(stub.GetMe(pb.GetMeRequest()))

    async def logged() -> bool:
        lines = [json.loads(line) for line in identity.log().splitlines() if correlation_id in line]
        return any(line.get("correlation_id") == correlation_id for line in lines)

    await eventually(logged, what="identity's JSON log line carrying the caller's correlation id")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_SERVER_PORT", "seventy"),
        ("TRADEMESH_IDENTITY_DEFAULT_ROLES", "admin"),
        ("TRADEMESH_TOKENS_ACCESS_TTL_SECONDS", "-5"),
    ],
)
async def test_bad_configuration_stops_start_up_naming_the_key(
    consul: Consul, tmp_path: Path, key: str, value: str
) -> None:
    exited = await run_to_exit(
        "identity", consul, {"TRADEMESH_STATE_DIR": str(tmp_path), key: value}
    )
    assert exited.code == 2, exited.output
    assert key in exited.output
    async with ConsulClient(consul.address) as client:
        _, instances = await client.healthy("identity")
    assert not [i for i in instances if i.meta.get("pid") == str(exited.pid)]


async def test_sigterm_deregisters_and_exits_cleanly(
    consul: Consul, identity: ServiceProcess, mesh: MeshClient
) -> None:
    await mesh.connect("identity")
    (instance,) = mesh.instances("identity")
    assert await identity.stop() == 0, identity.log()
    async with ConsulClient(consul.address) as client:
        assert await client.check_status(instance.instance_id) is None
    assert "identity: signal received, shutting down" in identity.log()

"""`callers:` rules end to end: a service-only method behind the real interceptor chain, called
through the mesh client with the certificates of different services."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from google.type import money_pb2
from trademesh.portfolio.v1 import portfolio_pb2 as pb
from trademesh.portfolio.v1 import portfolio_pb2_grpc as pb_grpc

from interceptors import ServerInterceptorConfig, server_interceptors, status_details
from mesh.client import ClientConfig, MeshClient
from mesh.infra import Consul
from mesh.server import MeshServer, ServerConfig, Servicer, ServiceSpec
from tests.integration.mesh.conftest import credentials

FULL_NAME = pb.DESCRIPTOR.services_by_name["PortfolioService"].full_name


class CashDesk(pb_grpc.PortfolioServiceServicer):
    async def ReserveCash(
        self, request: pb.ReserveCashRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReserveCashResponse:
        return pb.ReserveCashResponse(reserved_amount=request.amount)


def _request() -> pb.ReserveCashRequest:
    return pb.ReserveCashRequest(
        portfolio_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        user_id=str(uuid.uuid4()),
        amount=money_pb2.Money(currency_code="USD", units=100),
    )


async def test_only_the_named_caller_service_may_call(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"portfolio{uuid.uuid4().hex[:6]}"
    spec = ServiceSpec(
        name=name,
        servicers=[Servicer(pb_grpc.add_PortfolioServiceServicer_to_server, CashDesk(), FULL_NAME)],
        interceptors=server_interceptors(ServerInterceptorConfig(service_name=name)),
    )
    config = ClientConfig(consul_address=consul.address)
    async with (
        MeshServer(spec, server_config),
        MeshClient(config, credentials=credentials(tls_dir, "trading")) as trading,
        MeshClient(config, credentials=credentials(tls_dir, "edge")) as edge,
    ):
        await trading.wait_for_instances(name, timeout_seconds=20)
        await edge.wait_for_instances(name, timeout_seconds=20)

        stub = await trading.stub(pb_grpc.PortfolioServiceStub, name)
        reply = await stub.ReserveCash(_request())
        assert reply.reserved_amount.units == 100

        stub = await edge.stub(pb_grpc.PortfolioServiceStub, name)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ReserveCash(_request())
        details = status_details(info.value)
        assert details.code == grpc.StatusCode.PERMISSION_DENIED
        error_info = details.find(error_details_pb2.ErrorInfo)
        assert error_info is not None and error_info.reason == "CALLER_NOT_ALLOWED"

"""Helpers of the provider tests: a scriptable shipping-rates provider on a real grpc.aio server,
refs and requests for it, an address nobody listens on, and a hand-moved clock."""

from __future__ import annotations

import asyncio
import socket
import uuid
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from ecom.common.v1 import channel_pb2
from ecom.spi.shipping_rates.v1 import (
    shipping_rates_provider_service_pb2 as shipping_pb2,
)
from ecom.spi.shipping_rates.v1 import (
    shipping_rates_provider_service_pb2_grpc as shipping_grpc,
)
from services.platform.providers.kinds import Kind
from services.platform.providers.ref import ProviderRef

SHIPPING = Kind.SHIPPING_RATES
GET_RATES = SHIPPING.method("GetShippingRates")


class ShippingProvider(shipping_grpc.ShippingRatesProviderServiceServicer):
    """A scriptable shipping-rates provider that records what it receives."""

    def __init__(self) -> None:
        self.calls = 0
        self.delay_s = 0.0
        self.fail: grpc.StatusCode | None = None
        self.metadata: list[dict[str, str]] = []
        self.deadlines: list[float | None] = []

    async def GetShippingRates(
        self, request: shipping_pb2.GetShippingRatesRequest, context: grpc.aio.ServicerContext
    ) -> shipping_pb2.GetShippingRatesResponse:
        self.calls += 1
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        self.deadlines.append(context.time_remaining())
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail is not None:
            await context.abort(self.fail, "scripted failure")
        return shipping_pb2.GetShippingRatesResponse(
            shipping_rates=[
                shipping_pb2.ShippingRate(
                    code="standard",
                    title="Standard",
                    cost=shipping_pb2.ShippingCost(price="5.00", currency=request.currency),
                )
            ]
        )


@dataclass
class ProviderServer:
    servicer: ShippingProvider
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class ProviderServers:
    started: list[ProviderServer] = field(default_factory=list)

    async def start(self, *, with_health: bool = True) -> ProviderServer:
        server = grpc.aio.server()
        servicer = ShippingProvider()
        shipping_grpc.add_ShippingRatesProviderServiceServicer_to_server(servicer, server)
        health_servicer = None
        if with_health:
            health_servicer = health.aio.HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
            await health_servicer.set(SHIPPING.service_name, health_pb2.HealthCheckResponse.SERVING)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        running = ProviderServer(servicer, server, port, health_servicer)
        self.started.append(running)
        return running


def closed_port_target() -> str:
    """An address nothing listens on: connections to it are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def shipping_ref(
    target: str, *, site: str = "site-a", app_id: str = "acme", timeout_s: float = 2.0
) -> ProviderRef:
    return ProviderRef(
        id=str(uuid.uuid4()),
        site=site,
        kind=SHIPPING,
        app_id=app_id,
        target=target,
        timeout_s=timeout_s,
    )


def rates_request(currency: str = "USD") -> shipping_pb2.GetShippingRatesRequest:
    return shipping_pb2.GetShippingRatesRequest(
        currency=currency, weight_unit=channel_pb2.WEIGHT_UNIT_KG
    )


class FakeClock:
    """A monotonic clock the test moves by hand (breaker cool-downs, cache TTLs)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def status_details(exc: grpc.aio.AioRpcError) -> tuple[dict[str, str], set[str], str]:
    """(ErrorInfo metadata + {"reason": ...}, BadRequest field paths, message) of a failed call."""
    status = rpc_status.from_call(exc)
    info: dict[str, str] = {}
    fields: set[str] = set()
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                unpacked = error_details_pb2.ErrorInfo()
                detail.Unpack(unpacked)
                info = {**unpacked.metadata, "reason": unpacked.reason}
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields |= {v.field for v in bad.field_violations}
    return info, fields, exc.details() or ""

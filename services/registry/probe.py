"""CheckProvider's probe: is a provider up, and how fast does it answer?

First `grpc.health.v1.Health/Check` for the SPI's service name, then for the server as a whole
(when the name is NOT_FOUND); a provider without the health service (UNIMPLEMENTED) gets one cheap,
side-effect-free SPI call instead. Every step shares the provider's timeout. The probe goes
through the same channel pool and metadata as real calls, but never through the breaker: it
reports the breaker's state and leaves it alone.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf import struct_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ecom.common.v1 import channel_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_pb2
from ecom.spi.discount_triggers.v1 import discount_triggers_provider_service_pb2 as triggers_pb2
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_pb2
from ecom.spi.recommendations.v1 import recommendations_provider_service_pb2 as recs_pb2
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_pb2
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_pb2
from services.platform.providers.client import ProviderClient
from services.platform.providers.kinds import Kind
from services.platform.providers.ref import ProviderRef

HEALTH_PROBE = "grpc.health.v1.Health/Check"
_UNREACHABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class Health(enum.IntEnum):
    """Numbers as in `ecom.providers.v1.ProviderHealth`."""

    SERVING = 1
    NOT_SERVING = 2
    UNREACHABLE = 3
    CIRCUIT_OPEN = 4


@dataclass(frozen=True)
class ProbeResult:
    health: Health
    latency_s: float | None = None
    error_message: str = ""
    probe: str = ""


@dataclass(frozen=True)
class _SpiProbe:
    rpc: str
    request: Callable[[struct_pb2.Struct], Message]
    response_type: type[Message]


# The cheapest call of each SPI that its contract says must succeed with no input.
_SPI_PROBES: dict[Kind, _SpiProbe] = {
    Kind.CATALOG: _SpiProbe(
        "GetCatalogItems",
        lambda s: catalog_pb2.GetCatalogItemsRequest(
            weight_unit=channel_pb2.WEIGHT_UNIT_KG, currency="USD", settings=s
        ),
        catalog_pb2.GetCatalogItemsResponse,
    ),
    Kind.ADDITIONAL_FEES: _SpiProbe(
        "CalculateAdditionalFees",
        lambda s: fees_pb2.CalculateAdditionalFeesRequest(currency="USD", subtotal="0", settings=s),
        fees_pb2.CalculateAdditionalFeesResponse,
    ),
    Kind.SHIPPING_RATES: _SpiProbe(
        "GetShippingRates",
        lambda s: shipping_pb2.GetShippingRatesRequest(
            weight_unit=channel_pb2.WEIGHT_UNIT_KG, currency="USD", settings=s
        ),
        shipping_pb2.GetShippingRatesResponse,
    ),
    Kind.VALIDATIONS: _SpiProbe(
        "GetValidationViolations",
        lambda s: validations_pb2.GetValidationViolationsRequest(
            source=validations_pb2.SOURCE_CHECKOUT, currency="USD", settings=s
        ),
        validations_pb2.GetValidationViolationsResponse,
    ),
    Kind.INVENTORY: _SpiProbe(
        "ReleaseInventory",
        lambda s: inventory_pb2.ReleaseInventoryRequest(
            reservation_id=str(uuid.uuid4()), settings=s
        ),
        inventory_pb2.ReleaseInventoryResponse,
    ),
    Kind.RECOMMENDATIONS: _SpiProbe(
        "ListAlgorithms",
        lambda s: recs_pb2.ListAlgorithmsRequest(settings=s),
        recs_pb2.ListAlgorithmsResponse,
    ),
    Kind.DISCOUNT_TRIGGERS: _SpiProbe(
        "ListTriggers",
        lambda s: triggers_pb2.ListTriggersRequest(settings=s),
        triggers_pb2.ListTriggersResponse,
    ),
}


def _failure(exc: grpc.aio.AioRpcError, latency_s: float, probe: str) -> ProbeResult:
    health = Health.UNREACHABLE if exc.code() in _UNREACHABLE_CODES else Health.NOT_SERVING
    message = f"{exc.code().name}: {exc.details() or ''}".strip().rstrip(":")
    return ProbeResult(health, latency_s, message, probe)


async def probe(client: ProviderClient, ref: ProviderRef) -> ProbeResult:
    """Probe `ref` within its timeout; failures are reported in the result, never raised."""
    deadline = time.monotonic() + ref.timeout_s
    channel = client.channel(ref)
    metadata = client.metadata(ref, as_service=True)
    health = health_pb2_grpc.HealthStub(channel)
    for service in (ref.kind.service_name, ""):
        started = time.perf_counter()
        try:
            answer = await health.Check(
                health_pb2.HealthCheckRequest(service=service),
                timeout=max(deadline - time.monotonic(), 0.001),
                metadata=metadata,
            )
        except grpc.aio.AioRpcError as exc:
            latency = time.perf_counter() - started
            if exc.code() is grpc.StatusCode.NOT_FOUND and service:
                continue
            if exc.code() is grpc.StatusCode.UNIMPLEMENTED:
                break
            return _failure(exc, latency, HEALTH_PROBE)
        latency = time.perf_counter() - started
        if answer.status == health_pb2.HealthCheckResponse.SERVING:
            return ProbeResult(Health.SERVING, latency, "", HEALTH_PROBE)
        status_name = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        return ProbeResult(
            Health.NOT_SERVING, latency, f"health status {status_name}", HEALTH_PROBE
        )
    return await _spi_probe(client, ref, channel, metadata, deadline)


async def _spi_probe(
    client: ProviderClient,
    ref: ProviderRef,
    channel: grpc.aio.Channel,
    metadata: tuple[tuple[str, str], ...],
    deadline: float,
) -> ProbeResult:
    spi = _SPI_PROBES[ref.kind]
    method = ref.kind.method(spi.rpc)
    call = channel.unary_unary(
        method,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=spi.response_type.FromString,
    )
    started = time.perf_counter()
    try:
        await call(
            spi.request(ref.settings_struct()),
            timeout=max(deadline - time.monotonic(), 0.001),
            metadata=metadata,
        )
    except grpc.aio.AioRpcError as exc:
        return _failure(exc, time.perf_counter() - started, method)
    return ProbeResult(Health.SERVING, time.perf_counter() - started, "", method)

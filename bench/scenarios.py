"""Benchmark scenarios: one RPC (or flow) of the suite, with the targets it needs.

A scenario prepares whatever data it needs once, then returns the call the load generator
repeats. Service issues add their scenarios to `SCENARIOS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from services.platform.identity import Role, TokenService

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Prepared:
    call: Call
    request_bytes: int
    response_bytes: int


@dataclass(frozen=True)
class Scenario:
    name: str
    targets: tuple[str, ...]
    description: str
    prepare: Callable[[grpc.aio.Channel, TokenService], Awaitable[Prepared]]


async def _unary(
    channel: grpc.aio.Channel,
    method: str,
    request: Message,
    response_type: type[Message],
    metadata: tuple[tuple[str, str], ...],
) -> Prepared:
    """A repeated unary call; the first call measures the message sizes for the baseline."""
    rpc = channel.unary_unary(
        method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    first = await rpc(request, metadata=metadata)

    async def call() -> object:
        return await rpc(request, metadata=metadata)

    return Prepared(call, request.ByteSize(), first.ByteSize())


def _auth(tokens: TokenService, role: Role = Role.ADMIN) -> tuple[tuple[str, str], ...]:
    token = tokens.mint(role=role, site="bench", subject=f"bench-{role.value}")
    return (("authorization", f"Bearer {token}"),)


async def _health(channel: grpc.aio.Channel, tokens: TokenService) -> Prepared:
    from grpc_health.v1 import health_pb2

    return await _unary(
        channel,
        "/grpc.health.v1.Health/Check",
        health_pb2.HealthCheckRequest(),
        health_pb2.HealthCheckResponse,
        (),
    )


async def _list_providers(channel: grpc.aio.Channel, tokens: TokenService) -> Prepared:
    from ecom.providers.v1 import provider_registry_service_pb2 as registry

    return await _unary(
        channel,
        "/ecom.providers.v1.ProviderRegistryService/ListProviders",
        registry.ListProvidersRequest(page_size=20),
        registry.ListProvidersResponse,
        _auth(tokens),
    )


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("health", ("events",), "grpc.health.v1 Check: server stack only", _health),
        Scenario(
            "providers.list",
            ("providers",),
            "ProviderRegistryService/ListProviders: auth, interceptor, database read",
            _list_providers,
        ),
    )
}

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


async def _catalog_items(channel: grpc.aio.Channel, tokens: TokenService) -> Prepared:
    """20 references (10 products, 10 variants) of a stocked catalog, the way a cart asks."""
    from ecom.catalog.v1 import catalog_admin_service_pb2 as admin
    from ecom.catalog.v1 import catalog_admin_service_pb2_grpc, product_pb2
    from ecom.common.v1 import catalog_pb2, channel_pb2
    from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog

    products = [
        product_pb2.Product(id=f"bench-{i}", name=f"Bench product {i}", price="9.99", weight="0.5")
        for i in range(10)
    ] + [
        product_pb2.Product(
            id="bench-tee",
            name="Bench tee",
            price="19.00",
            compare_at_price="25.00",
            variants=[product_pb2.Variant(id=f"v{i}", options={"Size": str(i)}) for i in range(10)],
        )
    ]
    stock = [admin.StockSetting(product_id=f"bench-{i}", quantity=1000) for i in range(10)] + [
        admin.StockSetting(product_id="bench-tee", variant_id=f"v{i}", quantity=1000)
        for i in range(10)
    ]
    stub = catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(channel)
    await stub.UpsertProducts(
        admin.UpsertProductsRequest(products=products), metadata=_auth(tokens)
    )
    await stub.SetStock(admin.SetStockRequest(items=stock), metadata=_auth(tokens))

    def reference(item_id: str, **options: str) -> catalog_pb2.CatalogReference:
        ref = catalog_pb2.CatalogReference(catalog_item_id=item_id, app_id="ecom.catalog")
        if options:
            ref.options.update({"options": options})
        return ref

    references = [reference(f"bench-{i}") for i in range(10)] + [
        reference("bench-tee", Size=str(i)) for i in range(10)
    ]
    request = catalog.GetCatalogItemsRequest(
        catalog_references=[
            catalog.CatalogReferenceAndQuantity(catalog_reference=r, quantity=1) for r in references
        ],
        currency="USD",
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
    )
    return await _unary(
        channel,
        "/ecom.spi.catalog.v1.CatalogProviderService/GetCatalogItems",
        request,
        catalog.GetCatalogItemsResponse,
        (*_auth(tokens, Role.SERVICE), ("x-ecom-app-id", "ecom.catalog")),
    )


async def _shipping_rates(channel: grpc.aio.Channel, tokens: TokenService) -> Prepared:
    """10 shippable lines to a US address, quoted by the reference shipping provider's demo
    table (region choice, weight tiers, free-over threshold, pickup): what a cart estimate asks."""
    from ecom.common.v1 import address_pb2, catalog_pb2, channel_pb2, line_item_pb2, money_pb2
    from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping

    lines = [
        line_item_pb2.LineItem(
            id=f"line-{i}",
            quantity=1 + i % 3,
            price=money_pb2.Price(amount="9.99"),
            physical_properties=catalog_pb2.PhysicalProperties(weight="0.25", shippable=True),
        )
        for i in range(10)
    ]
    request = shipping.GetShippingRatesRequest(
        line_items=lines,
        shipping_destination=address_pb2.Address(country="US", subdivision="US-NY"),
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        currency="USD",
    )
    return await _unary(
        channel,
        "/ecom.spi.shipping_rates.v1.ShippingRatesProviderService/GetShippingRates",
        request,
        shipping.GetShippingRatesResponse,
        (*_auth(tokens, Role.SERVICE), ("x-ecom-app-id", "ecom.shipping")),
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
        Scenario(
            "catalog.get_items",
            ("catalog",),
            "CatalogProviderService/GetCatalogItems, 20 references: variants, stock, holds",
            _catalog_items,
        ),
        Scenario(
            "shipping.get_rates",
            ("shipping",),
            "ShippingRatesProviderService/GetShippingRates, 10 lines: demo rate table",
            _shipping_rates,
        ),
    )
}

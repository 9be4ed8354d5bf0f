"""The checkout over real gRPC: the `providers`, `catalog` (reference, with inventory),
`discounts`, `cart` and `checkout` targets on one real server, and the real `orders` service on
a second one (so a test can stop and restart it), on SQLite or on PostgreSQL with Redis.
Providers a test must script (slow, failing, lying) are its own, registered for its site through
the registry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import sqlalchemy as sa

from ecom.cart.v1 import cart_service_pb2_grpc, current_cart_service_pb2_grpc
from ecom.catalog.v1 import catalog_admin_service_pb2, catalog_admin_service_pb2_grpc, product_pb2
from ecom.checkout.v1 import (
    abandoned_checkout_service_pb2_grpc,
    checkout_pb2,
    checkout_service_pb2,
    checkout_service_pb2_grpc,
)
from ecom.common.v1 import catalog_pb2, channel_pb2
from ecom.orders.v1 import orders_service_pb2_grpc
from ecom.providers.v1 import (
    provider_pb2,
    provider_registry_service_pb2,
    provider_registry_service_pb2_grpc,
)
from services.cart import MODULE as CART
from services.checkout import MODULE as CHECKOUT
from services.discounts import MODULE as DISCOUNTS
from services.orders import MODULE as ORDERS
from services.platform.config import Config
from services.platform.identity import Role
from services.platform.providers import Kind
from services.platform.runtime import Runtime
from services.platform.schema.tables import outbox
from services.platform.server import RunningServer, start_server
from services.providers.catalog import MODULE as CATALOG
from services.registry import MODULE as REGISTRY
from tests.integration.checkout.kit import Started, serve

Metadata = tuple[tuple[str, str], ...]
pb = checkout_service_pb2

#: Sales tax of New York (the destination of most tests), so totals include tax.
TAX_RATES = '{"jurisdictions": {"US-NY": {"tax_name": "Sales tax", "rate": "0.08875"}}}'
URL_TEMPLATE = "https://shop.example/checkout?checkoutId={checkout_id}"


#: For tests whose subject does not depend on the backend: run them on SQLite only, so the whole
#: directory stays quick; the purchase, concurrency and crash tests run on both.
SQLITE_ONLY = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql+redis"])
def stack(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "sqlite":
        return {}
    prefix = request.getfixturevalue("key_prefix")
    return {
        "ECOM_DATABASE_URL": request.getfixturevalue("postgres_url"),
        "ECOM_REDIS_URL": request.getfixturevalue("redis_url"),
        "ECOM_KEY_PREFIX": f"{prefix}{uuid.uuid4().hex[:8]}:",
    }


@dataclass
class Suite:
    running: RunningServer
    orders_running: RunningServer
    channel: grpc.aio.Channel
    site: str
    orders_config: Config
    providers: list[Started] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        return self.running.runtime

    # -- stubs ------------------------------------------------------------------------------

    @property
    def checkout(self) -> checkout_service_pb2_grpc.CheckoutServiceStub:
        return checkout_service_pb2_grpc.CheckoutServiceStub(self.channel)

    @property
    def abandoned(self) -> abandoned_checkout_service_pb2_grpc.AbandonedCheckoutServiceStub:
        return abandoned_checkout_service_pb2_grpc.AbandonedCheckoutServiceStub(self.channel)

    @property
    def cart(self) -> cart_service_pb2_grpc.CartServiceStub:
        return cart_service_pb2_grpc.CartServiceStub(self.channel)

    @property
    def current_cart(self) -> current_cart_service_pb2_grpc.CurrentCartServiceStub:
        return current_cart_service_pb2_grpc.CurrentCartServiceStub(self.channel)

    def orders(self) -> orders_service_pb2_grpc.OrdersServiceStub:
        """A stub on a channel of its own to the orders server (which may be restarted)."""
        channel = grpc.aio.insecure_channel(self.orders_running.address)
        return orders_service_pb2_grpc.OrdersServiceStub(channel)

    # -- identities -------------------------------------------------------------------------

    def auth(self, role: Role, subject: str, *, site: str | None = None) -> Metadata:
        token = self.runtime.tokens.mint(role=role, site=site or self.site, subject=subject)
        return (("authorization", f"Bearer {token}"),)

    def visitor(self, subject: str = "visitor-1") -> Metadata:
        return self.auth(Role.VISITOR, subject)

    def admin(self) -> Metadata:
        return self.auth(Role.ADMIN, "admin-1")

    def auth_member(self, subject: str) -> Metadata:
        return self.auth(Role.MEMBER, subject)

    # -- providers and catalog --------------------------------------------------------------

    async def register(self, kind: Kind, app_id: str, target: str, *, timeout_ms: int = 0) -> None:
        provider = provider_pb2.Provider(
            kind=provider_pb2.ProviderKind.ValueType(int(kind)), app_id=app_id, target=target
        )
        if timeout_ms:
            provider.timeout.FromMilliseconds(timeout_ms)
        stub = provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(self.channel)
        await stub.RegisterProvider(
            provider_registry_service_pb2.RegisterProviderRequest(provider=provider),
            metadata=self.admin(),
        )

    async def provide(
        self, kind: Kind, app_id: str, servicer: Any, *, timeout_ms: int = 0
    ) -> Started:
        """Serve `servicer` on a server of its own and register it as `app_id`."""
        started = await serve(servicer)
        self.providers.append(started)
        await self.register(kind, app_id, started.target, timeout_ms=timeout_ms)
        return started

    async def products(self, *products: product_pb2.Product, stock: dict[str, int]) -> None:
        """Products in the reference catalog of the site, with stock."""
        stub = catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(self.channel)
        await stub.UpsertProducts(
            catalog_admin_service_pb2.UpsertProductsRequest(products=products),
            metadata=self.admin(),
        )
        if stock:
            await stub.SetStock(
                catalog_admin_service_pb2.SetStockRequest(
                    items=[
                        catalog_admin_service_pb2.StockSetting(product_id=pid, quantity=quantity)
                        for pid, quantity in stock.items()
                    ]
                ),
                metadata=self.admin(),
            )

    async def product_stock(self, product_id: str) -> product_pb2.StockLevel:
        stub = catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(self.channel)
        response: catalog_admin_service_pb2.GetProductResponse = await stub.GetProduct(
            catalog_admin_service_pb2.GetProductRequest(id=product_id), metadata=self.admin()
        )
        return response.product.stock

    # -- the orders server ------------------------------------------------------------------

    async def stop_orders(self) -> None:
        await self.orders_running.stop(0)

    async def start_orders(self) -> None:
        port = self.orders_running.port
        self.orders_running = await start_server(Runtime(self.orders_config), [ORDERS], port=port)

    # -- events -----------------------------------------------------------------------------

    async def events(self, *types: str, entity_id: str | None = None) -> list[str]:
        """Types of the checkout events of the site recorded so far, in order."""
        where = [outbox.c.site == self.site]
        if types:
            where.append(outbox.c.type.in_(types))
        if entity_id:
            where.append(outbox.c.entity_id == entity_id)

        async def read(session: Any) -> list[str]:
            rows = await session.execute(
                sa.select(outbox.c.type).where(*where).order_by(outbox.c.id)
            )
            return [row.type for row in rows]

        return await self.runtime.database("checkout").run(read, readonly=True)

    # -- checkouts --------------------------------------------------------------------------

    async def create(
        self,
        lines: Sequence[Any],
        *,
        metadata: Metadata | None = None,
        info: checkout_pb2.Checkout | None = None,
        **extra: Any,
    ) -> checkout_pb2.Checkout:
        response: pb.CreateCheckoutResponse = await self.checkout.CreateCheckout(
            pb.CreateCheckoutRequest(
                line_items=lines,
                checkout_info=info,
                channel_type=channel_pb2.CHANNEL_TYPE_WEB,
                **extra,
            ),
            metadata=metadata or self.visitor(),
        )
        return response.checkout


def product(
    product_id: str, price: str, *, name: str = "", weight: str = "1", shippable: bool = True
) -> product_pb2.Product:
    result = product_pb2.Product(
        id=product_id,
        name=name or product_id.title(),
        price=price,
        currency="USD",
        weight=weight,
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        shippable=shippable,
    )
    result.item_type.preset = catalog_pb2.ITEM_TYPE_PRESET_PHYSICAL
    return result


StartSuite = Callable[..., Awaitable[Suite]]


@pytest.fixture
async def start_suite(
    make_config: Callable[..., Config], stack: dict[str, str], site: str
) -> AsyncIterator[StartSuite]:
    suites: list[Suite] = []

    async def start(
        orders_front: Callable[[str], Awaitable[str]] | None = None, **overrides: Any
    ) -> Suite:
        """`overrides`: ECOM_* variables, and checkout settings by their config key
        (CHECKOUT_RESERVATION_TIMEOUT_S...). `orders_front` puts something between checkout and
        orders: it gets the orders address and returns the one checkout calls instead."""
        environ = {"ECOM_DEMO_DATA": "no", "ECOM_TAX_RATES": TAX_RATES, **stack}
        environ |= {k: v for k, v in overrides.items() if k.startswith("ECOM_")}
        checkout_settings = {k: v for k, v in overrides.items() if not k.startswith("ECOM_")}
        orders_config = make_config(**environ)
        orders_running = await start_server(Runtime(orders_config), [ORDERS])
        orders_address = orders_running.address
        if orders_front is not None:
            orders_address = await orders_front(orders_address)
        config = make_config(**environ, ECOM_ORDERS_ADDR=orders_address).with_overrides(
            **{"CHECKOUT_URL_TEMPLATE": URL_TEMPLATE, **checkout_settings}
        )
        running = await start_server(
            Runtime(config), [REGISTRY, CATALOG, DISCOUNTS, CART, CHECKOUT]
        )
        suite = Suite(
            running,
            orders_running,
            grpc.aio.insecure_channel(running.address),
            site,
            orders_config,
        )
        suites.append(suite)
        return suite

    yield start
    for suite in suites:
        await suite.channel.close()
        await suite.running.stop(0)
        await suite.orders_running.stop(0)
        await asyncio.gather(*(p.server.stop(0) for p in suite.providers))


@pytest.fixture
async def suite(start_suite: StartSuite) -> Suite:
    return await start_suite()

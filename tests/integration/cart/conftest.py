"""The cart over real gRPC: the `providers`, `discounts` and `cart` targets on one real server, on
SQLite with the in-process session store or on PostgreSQL with Redis, and a catalog provider of
the test's own registered for the test's site through the registry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from ecom.cart.v1 import cart_service_pb2_grpc, current_cart_service_pb2_grpc
from ecom.providers.v1 import (
    provider_pb2,
    provider_registry_service_pb2,
    provider_registry_service_pb2_grpc,
)
from services.cart import MODULE as CART
from services.discounts import MODULE as DISCOUNTS
from services.platform.config import Config
from services.platform.identity import Role
from services.platform.providers import Kind
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server
from services.registry import MODULE as REGISTRY
from tests.integration.cart.kit import CatalogProvider, Started, item, serve

Metadata = tuple[tuple[str, str], ...]

DEMO_ITEMS = {
    "tee": item("T-shirt", "19.99", full_price="24.99"),
    "mug": item("Mug", "8.50", stock=3),
    "ebook": item("E-book", "5.00", shippable=False),
    "poster": item("Poster", "12.00", stock=0),
    "pin": item("Pin", "0.125"),
}


@pytest.fixture(params=["sqlite+inprocess", "postgresql+redis"])
def stack(request: pytest.FixtureRequest) -> dict[str, str]:
    """ECOM_* settings of one storage stack: SQLite with the in-process session store and event
    bus, or PostgreSQL with Redis."""
    if request.param == "sqlite+inprocess":
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
    channel: grpc.aio.Channel
    site: str
    providers: list[Started] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        return self.running.runtime

    @property
    def cart(self) -> cart_service_pb2_grpc.CartServiceStub:
        return cart_service_pb2_grpc.CartServiceStub(self.channel)

    @property
    def current(self) -> current_cart_service_pb2_grpc.CurrentCartServiceStub:
        return current_cart_service_pb2_grpc.CurrentCartServiceStub(self.channel)

    def token(self, role: Role, subject: str, *, site: str | None = None) -> str:
        return self.runtime.tokens.mint(role=role, site=site or self.site, subject=subject)

    def auth(self, role: Role, subject: str, *, site: str | None = None) -> Metadata:
        return (("authorization", f"Bearer {self.token(role, subject, site=site)}"),)

    def visitor(self, subject: str | None = None) -> Metadata:
        return self.auth(Role.VISITOR, subject or f"v-{uuid.uuid4().hex[:8]}")

    def member(self, subject: str | None = None) -> Metadata:
        return self.auth(Role.MEMBER, subject or f"m-{uuid.uuid4().hex[:8]}")

    def admin(self) -> Metadata:
        return self.auth(Role.ADMIN, "admin-1")

    async def register(
        self,
        kind: Kind,
        app_id: str,
        target: str,
        *,
        validate_in_cart: bool = False,
        timeout_ms: int = 0,
        site: str | None = None,
    ) -> None:
        provider = provider_pb2.Provider(
            kind=provider_pb2.ProviderKind.ValueType(int(kind)),
            app_id=app_id,
            target=target,
            validate_in_cart=validate_in_cart,
        )
        if timeout_ms:
            provider.timeout.FromMilliseconds(timeout_ms)
        stub = provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(self.channel)
        await stub.RegisterProvider(
            provider_registry_service_pb2.RegisterProviderRequest(provider=provider),
            metadata=self.auth(Role.ADMIN, "admin-1", site=site),
        )

    async def provide(
        self, kind: Kind, app_id: str, *servicers: Any, validate_in_cart: bool = False
    ) -> Started:
        """Serve `servicers` on a server of their own and register it as `app_id`."""
        started = await serve(*servicers)
        self.providers.append(started)
        await self.register(kind, app_id, started.target, validate_in_cart=validate_in_cart)
        return started


StartSuite = Callable[..., Awaitable[Suite]]


@pytest.fixture
async def start_suite(
    make_config: Callable[..., Config], stack: dict[str, str], site: str
) -> AsyncIterator[StartSuite]:
    suites: list[Suite] = []

    async def start(**environ: str) -> Suite:
        config = make_config(**{**stack, **environ})
        running = await start_server(Runtime(config), [REGISTRY, DISCOUNTS, CART])
        suite = Suite(running, grpc.aio.insecure_channel(running.address), site)
        suites.append(suite)
        return suite

    yield start
    for suite in suites:
        await suite.channel.close()
        await suite.running.stop(0)
        await asyncio.gather(*(p.server.stop(0) for p in suite.providers))


@pytest.fixture
async def suite(start_suite: StartSuite) -> Suite:
    return await start_suite()


@pytest.fixture
async def catalog(suite: Suite) -> CatalogProvider:
    """The demo catalog, registered as app "shop" for the test's site."""
    provider = CatalogProvider(DEMO_ITEMS)
    await suite.provide(Kind.CATALOG, "shop", provider)
    return provider

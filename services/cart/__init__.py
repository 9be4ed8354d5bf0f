"""The `cart` service target: `ecom.cart.v1.CartService` and `ecom.cart.v1.CurrentCartService`.

Carts live in this service's own tables (migrations in `migrations/`); the current-cart sessions
in Redis when `ECOM_REDIS_URL` is set, else in process (embedded mode, one process only). Line
data comes from the catalog providers, totals from the pricing engine (`services.pricing`),
shipping options, fees and cart validations from their providers, discount rules and coupons
from the discounts service and checkouts from the checkout service, both over gRPC. See
README.md beside this file for the decisions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from ecom.cart.v1 import (
    cart_service_pb2,
    cart_service_pb2_grpc,
    current_cart_service_pb2,
    current_cart_service_pb2_grpc,
)
from services.cart.api import CartServicer
from services.cart.catalog import CatalogReader
from services.cart.checkout import CheckoutGateway
from services.cart.current_api import CurrentCartServicer
from services.cart.discounts import DiscountsClient
from services.cart.events import CHECKOUT_COMPLETED, CONSUMER_NAME, checkout_completed_handler
from services.cart.service import Carts
from services.cart.sessions import InProcessSessionStore, RedisSessionStore, SessionStore
from services.cart.totals import Estimator
from services.platform.events.consumer import EventConsumer
from services.platform.module import Binding, ServiceModule
from services.platform.providers import ResponseCache
from services.platform.sites import SiteDirectory

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

CART_SERVICE = cart_service_pb2.DESCRIPTOR.services_by_name["CartService"].full_name
CURRENT_CART_SERVICE = current_cart_service_pb2.DESCRIPTOR.services_by_name[
    "CurrentCartService"
].full_name
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def session_store(runtime: Runtime) -> SessionStore:
    ttl_s = int(runtime.config["CART_SESSION_TTL_S"])
    if runtime.redis is not None:
        return RedisSessionStore(runtime.redis, runtime.key_prefix, ttl_s)
    return InProcessSessionStore(ttl_s)


def build(runtime: Runtime) -> tuple[Carts, SiteDirectory]:
    sites = SiteDirectory.from_config(runtime.config)
    discounts = DiscountsClient(runtime)
    carts = Carts(
        runtime.database(MODULE.name),
        sites=sites,
        sessions=session_store(runtime),
        catalog=CatalogReader(runtime.providers, ResponseCache()),
        discounts=discounts,
        estimator=Estimator(runtime.providers, discounts, ResponseCache()),
        checkout=CheckoutGateway(runtime),
        tokens=runtime.tokens,
    )
    return carts, sites


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    carts, sites = build(runtime)
    cart_service_pb2_grpc.add_CartServiceServicer_to_server(CartServicer(carts, sites), server)
    current_cart_service_pb2_grpc.add_CurrentCartServiceServicer_to_server(
        CurrentCartServicer(carts, sites), server
    )
    consumer = EventConsumer(
        CONSUMER_NAME,
        runtime.bus,
        runtime.database(MODULE.name),
        [CHECKOUT_COMPLETED],
        checkout_completed_handler(carts),
    )
    return Binding(service_names=[CART_SERVICE, CURRENT_CART_SERVICE], background=[consumer.run])


MODULE = ServiceModule(
    name="cart",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.cart.tables",
)

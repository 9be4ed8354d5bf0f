"""The `checkout` service target: `ecom.checkout.v1.CheckoutService` and
`AbandonedCheckoutService`.

Checkouts, their order placements and abandoned-checkout records live in this service's own
tables (migrations in `migrations/`). Line data, shipping rates, fees, validations and stock come
from SPI providers through the runtime's provider client; carts, orders, discount rules and
coupons from the `cart`, `orders` and `discounts` peers over gRPC with a service token.
Background jobs: the abandonment sweeper (one per deployment, by a lease in the database) and the
placement finisher (unfinished placements, owed inventory commits). See docs/checkout.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from ecom.checkout.v1 import (
    abandoned_checkout_service_pb2,
    abandoned_checkout_service_pb2_grpc,
    checkout_service_pb2,
    checkout_service_pb2_grpc,
)
from services.checkout.abandonment import Abandonment
from services.checkout.api import AbandonedCheckoutServicer, CheckoutServicer
from services.checkout.calculate import Calculator
from services.checkout.catalog import CatalogReader
from services.checkout.discounts import CheckoutDiscounts
from services.checkout.inventory import Inventory
from services.checkout.peers import PEER_TIMEOUT_S, CartClient, OrdersClient
from services.checkout.quotes import QuoteCaller
from services.checkout.saga import Placer, instance_id
from services.checkout.service import CheckoutService
from services.checkout.settings import CheckoutSettings
from services.discounts.client import DiscountsClient
from services.discounts.usage_client import UsageClient
from services.platform.module import Binding, ServiceModule
from services.platform.providers import ResponseCache
from services.platform.sites import SiteDirectory

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

CHECKOUT_SERVICE = checkout_service_pb2.DESCRIPTOR.services_by_name["CheckoutService"].full_name
ABANDONED_SERVICE = abandoned_checkout_service_pb2.DESCRIPTOR.services_by_name[
    "AbandonedCheckoutService"
].full_name
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    database = runtime.database(MODULE.name)
    settings = CheckoutSettings.from_config(runtime.config)
    sites = SiteDirectory.from_config(runtime.config)
    client = runtime.providers
    catalog = CatalogReader(client, ResponseCache())
    calculator = Calculator(
        client,
        catalog,
        QuoteCaller(client, ResponseCache()),
        # The price depends on the discounts (unlike an optional provider's answer), so the
        # calculation gives the discounts service the time of a peer call, not a provider's.
        CheckoutDiscounts(DiscountsClient(runtime, timeout_s=PEER_TIMEOUT_S)),
        sites,
    )
    service = CheckoutService(database, calculator, catalog, sites, settings, CartClient(runtime))
    placer = Placer(
        database,
        service,
        Inventory(client, ttl_s=settings.reservation_timeout_s),
        OrdersClient(runtime),
        UsageClient(runtime),
        settings,
    )
    abandonment = Abandonment(database, settings, runtime.tokens, instance=instance_id())
    checkout_service_pb2_grpc.add_CheckoutServiceServicer_to_server(
        CheckoutServicer(service, placer), server
    )
    abandoned_checkout_service_pb2_grpc.add_AbandonedCheckoutServiceServicer_to_server(
        AbandonedCheckoutServicer(abandonment), server
    )
    return Binding(
        service_names=[CHECKOUT_SERVICE, ABANDONED_SERVICE],
        background=[abandonment.run_sweeper, placer.run_finisher],
    )


MODULE = ServiceModule(
    name="checkout",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.checkout.tables",
)

"""The `catalog` service target: the reference catalog provider.

It implements `ecom.spi.catalog.v1.CatalogProviderService` (GetCatalogItems) and
`ecom.spi.inventory.v1.InventoryProviderService` (stock reservations) over its own tables, and
`ecom.catalog.v1.CatalogAdminService` to manage products and stock. docs/catalog.md describes it;
the essentials:

- App id: the one the suite calls it under (`x-ecom-app-id`); without that metadata,
  `DEFAULT_APP_ID` ("ecom.catalog"), which is also what `ecom serve` registers it as (catalog
  and inventory kinds) when no providers file is set. References with another app id are
  unknown to it.
- References: `catalog_item_id` is the product id; `options` select a variant as
  {"variantId": "<id>"} or {"options": {"Size": "M"}} (`references.py`). Unknown references are
  left out of answers; hidden products are answered with `quantity_available` 0; stock that was
  never set is unlimited (no `quantity_available`).
- Prices are in each product's currency (USD by default); a GetCatalogItems in another currency
  for one of its products fails with FAILED_PRECONDITION (CURRENCY_NOT_SUPPORTED).
- Reservations hold stock until committed, released or expired (default 15 minutes), all or
  nothing, idempotent by reservation id; stock never goes negative under concurrency
  (`inventory.py`).
- Demo data: `demo.py`, loaded at start-up as `ECOM_DEMO_DATA` says.
- GetCatalogItems answers from snapshots of products, stock and holds kept in memory until the
  catalog's database changes (`snapshots.py`, `services.platform.read_cache`: exact, also across
  processes; holds are kept with their expiry, so they stop counting on time). On PostgreSQL
  every call reads the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from ecom.catalog.v1 import catalog_admin_service_pb2, catalog_admin_service_pb2_grpc
from ecom.spi.catalog.v1 import catalog_provider_service_pb2, catalog_provider_service_pb2_grpc
from ecom.spi.inventory.v1 import (
    inventory_provider_service_pb2,
    inventory_provider_service_pb2_grpc,
)
from services.platform.module import Binding, ServiceModule
from services.providers.catalog import demo
from services.providers.catalog.admin_api import CatalogAdminServicer
from services.providers.catalog.catalog_api import CatalogProviderServicer
from services.providers.catalog.inventory import InventoryService
from services.providers.catalog.inventory_api import InventoryProviderServicer
from services.providers.catalog.service import CatalogService

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

DEFAULT_APP_ID = "ecom.catalog"
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")

SERVICE_NAMES = (
    catalog_admin_service_pb2.DESCRIPTOR.services_by_name["CatalogAdminService"].full_name,
    catalog_provider_service_pb2.DESCRIPTOR.services_by_name["CatalogProviderService"].full_name,
    inventory_provider_service_pb2.DESCRIPTOR.services_by_name[
        "InventoryProviderService"
    ].full_name,
)


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    mode = demo.DemoMode.parse(str(runtime.config["DEMO_DATA"]))
    database = runtime.database(MODULE.name)
    catalog = CatalogService(database)
    await demo.load(catalog, mode)
    catalog_admin_service_pb2_grpc.add_CatalogAdminServiceServicer_to_server(
        CatalogAdminServicer(catalog), server
    )
    catalog_provider_service_pb2_grpc.add_CatalogProviderServiceServicer_to_server(
        CatalogProviderServicer(catalog, default_app_id=DEFAULT_APP_ID), server
    )
    inventory_provider_service_pb2_grpc.add_InventoryProviderServiceServicer_to_server(
        InventoryProviderServicer(InventoryService(database), default_app_id=DEFAULT_APP_ID),
        server,
    )
    return Binding(service_names=list(SERVICE_NAMES))


MODULE = ServiceModule(
    name="catalog",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.providers.catalog.tables",
)

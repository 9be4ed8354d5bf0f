"""The `fulfillment` service target: `ecom.fulfillment.v1.OrderFulfillmentsService`.

Fulfillments live in this service's own tables (migrations in `migrations/`). Orders are read
from the `orders` peer (`OrdersService/GetOrder`, service token); the order's fulfillment status
travels back to the orders service in `ecom.fulfillment.v1.fulfillments_updated` events from this
service's outbox (published by the relay the server runs for every module with migrations).

Decisions where the contract leaves room:
- The order's lines, quantities and buyer are read with GetOrder when a fulfillment is created
  and kept in `fulfillment_orders` (they never change after the order is created). Update,
  delete and listing use that copy, so they keep working while the orders service is down, and
  call GetOrder only for an order this service has never seen (to tell ORDER_NOT_FOUND from an
  order without fulfillments, and to check a buyer's ownership).
- The order's status (APPROVED, not INITIALIZED or CANCELED) is checked at creation only, from
  the GetOrder answer of that request; update and delete are allowed whatever the status.
- GetOrder failing for any reason but NOT_FOUND / INVALID_ARGUMENT is UNAVAILABLE
  (ORDERS_UNAVAILABLE) with RetryInfo, never INTERNAL. In BulkCreateFulfillments it fails the
  whole call (nothing is created, no response is stored for the request id), so a retry with
  the same request id can still create everything.
- BulkCreateFulfillments runs in one transaction with a savepoint per order (so one request id
  covers the whole call), locking orders in id order so that concurrent bulks cannot deadlock.
- A tracking number is URL-encoded as a whole (`/` and spaces too) in carrier links; carrier
  names are matched case-insensitively after trimming spaces.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from ecom.fulfillment.v1 import order_fulfillments_service_pb2, order_fulfillments_service_pb2_grpc
from services.fulfillment.api import OrderFulfillmentsServicer
from services.fulfillment.orders_client import OrdersClient
from services.fulfillment.service import FulfillmentService
from services.platform.module import Binding, ServiceModule

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

SERVICE_NAME = order_fulfillments_service_pb2.DESCRIPTOR.services_by_name[
    "OrderFulfillmentsService"
].full_name
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    service = FulfillmentService(runtime.database(MODULE.name), OrdersClient(runtime))
    order_fulfillments_service_pb2_grpc.add_OrderFulfillmentsServiceServicer_to_server(
        OrderFulfillmentsServicer(service), server
    )
    return Binding(service_names=[SERVICE_NAME])


MODULE = ServiceModule(
    name="fulfillment",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.fulfillment.tables",
)

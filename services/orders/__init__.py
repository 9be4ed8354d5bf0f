"""The `orders` service target: `ecom.orders.v1.OrdersService` and
`ecom.orders.v1.OrderTransactionsService` over the service's own tables.

Layout: `api` / `transactions_api` (servicers: proto <-> service calls), `service` /
`transactions` (use cases, one unit of work each), `change` (what every change of an order
shares: revision, updated_date, activities, events), `domain/` (pure rules), `store` + `filters`
(SQL), `intake` / `masks` / `prices` / `record` / `query` (message-level helpers),
`fulfillment_events` (consumer), `restock` (inventory provider calls), `seed` (bulk seeding).

Decisions where the contract leaves room:
- Storage: an order is its `Order` message (activities included) plus derived columns for
  filters, sorts and sums; amounts stay exact decimal strings, `total_key` is a fixed-width
  sortable form of the total. Payments and refunds have their own tables.
- Numbers: a per-site counter row locked until commit, so concurrent creations take consecutive
  numbers and a rolled-back creation gives its number back (no gaps in practice).
- Amounts given by callers are kept exactly, written with at least the currency's decimals
  ("10.5" -> "10.50"), formatted in the buyer's (else the site's) language.
- Activities: creation records ORDER_PLACED only (also for orders approved or paid at creation);
  a refund records one ORDER_REFUNDED with its details, and the payment-status change it causes
  records no second one. TRACKING_NUMBER_* come from comparing the tracking numbers of the last
  applied fulfillment event with the new one.
- Events of one change: the specific ones first, `order_updated` last; for transactions
  `order_transactions_updated`, `order_payment_status_updated`, `order_approved`, `order_updated`.
- Restock: one job per inventory provider (the line's catalog app id), idempotency key
  uuid5(order, cause, app id); a catalog without a registered inventory provider is skipped.
- ListTransactionsForSingleOrder answers PERMISSION_DENIED to visitors and members, as its
  proto says (the platform's access table lets them reach it).

Background jobs of the binding: the consumer of `ecom.fulfillment.v1.fulfillments_updated`
events (the order's fulfillment status follows its fulfillments) and the worker that sends
RestockInventory calls to inventory providers after cancels and refunds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from ecom.orders.v1 import (
    order_transactions_service_pb2,
    order_transactions_service_pb2_grpc,
    orders_service_pb2,
    orders_service_pb2_grpc,
)
from services.orders.api import OrdersServicer
from services.orders.fulfillment_events import (
    CONSUMER_NAME,
    FULFILLMENTS_UPDATED,
    fulfillment_handler,
)
from services.orders.restock import RestockWorker
from services.orders.service import OrdersService
from services.orders.transactions import TransactionsService
from services.orders.transactions_api import OrderTransactionsServicer
from services.platform.events.consumer import EventConsumer
from services.platform.module import Binding, ServiceModule

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

ORDERS_SERVICE = orders_service_pb2.DESCRIPTOR.services_by_name["OrdersService"].full_name
TRANSACTIONS_SERVICE = order_transactions_service_pb2.DESCRIPTOR.services_by_name[
    "OrderTransactionsService"
].full_name
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    database = runtime.database(MODULE.name)
    worker = RestockWorker(database, runtime.providers)
    orders_service_pb2_grpc.add_OrdersServiceServicer_to_server(
        OrdersServicer(OrdersService(database, restock_worker=worker)), server
    )
    order_transactions_service_pb2_grpc.add_OrderTransactionsServiceServicer_to_server(
        OrderTransactionsServicer(TransactionsService(database, restock_worker=worker)), server
    )
    consumer = EventConsumer(
        CONSUMER_NAME, runtime.bus, database, [FULFILLMENTS_UPDATED], fulfillment_handler()
    )
    return Binding(
        service_names=[ORDERS_SERVICE, TRANSACTIONS_SERVICE],
        background=[consumer.run, worker.run],
    )


MODULE = ServiceModule(
    name="orders",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.orders.tables",
)

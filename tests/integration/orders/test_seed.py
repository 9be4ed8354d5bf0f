"""The bulk seeding helper writes orders the service serves like any other."""

from __future__ import annotations

import pytest

from ecom.common.v1 import query_pb2
from ecom.orders.v1 import order_pb2
from services.orders.seed import seed, seeding_database
from services.platform.config import load_config
from tests.integration.orders.kit import Served, create, new_order, pb, tx

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_seeded_orders_are_served(served: Served, site: str) -> None:
    first = await create(served, site, new_order())
    config = served.running.runtime.config
    database = seeding_database(
        load_config(
            {
                "ECOM_DATA_DIR": str(config.data_dir),
                **({"ECOM_DATABASE_URL": config.database_url} if config.database_url else {}),
            }
        )
    )
    try:
        assert await seed(database, site, 300) == 300
    finally:
        await database.dispose()
    admin = served.admin(site)
    newest = await served.orders.SearchOrders(
        pb.SearchOrdersRequest(
            filter=pb.OrderFilter(include_initialized=True),
            sort=[pb.OrderSort(field=pb.ORDER_SORT_FIELD_NUMBER, order=query_pb2.SORT_ORDER_DESC)],
            page_size=1,
        ),
        metadata=admin,
    )
    assert newest.orders[0].number == first.number + 300
    after = await create(served, site, new_order())
    assert after.number == first.number + 301
    paid = await served.orders.SearchOrders(
        pb.SearchOrdersRequest(
            filter=pb.OrderFilter(payment_statuses=[order_pb2.PAYMENT_STATUS_PAID]), page_size=1
        ),
        metadata=admin,
    )
    order = paid.orders[0]
    assert order.balance_summary.paid.amount == order.price_summary.total.amount
    listed = await served.transactions.ListTransactionsForSingleOrder(
        tx.ListTransactionsForSingleOrderRequest(order_id=order.id), metadata=admin
    )
    assert listed.order_transactions.payments[0].amount.amount == order.price_summary.total.amount
    counts = await served.orders.AggregateOrders(
        pb.AggregateOrdersRequest(filter=pb.OrderFilter(include_initialized=True)), metadata=admin
    )
    assert counts.buckets[0].order_count == 302

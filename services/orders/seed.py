"""Seed a site with many realistic orders, fast: for benchmarks and load tests.

    python -m services.orders.seed --site bench --count 100000

(with the `ECOM_*` settings of the orders service's database). Orders are built from one order
checked by CreateOrder's own intake, varied per order (number, dates, buyer, total, status,
payment, tags, catalog items), and written with their ORDER_PLACED activity and, for paid
orders, their payment, in large batches straight through the store (`OrderStore.add_many`); no
events are recorded (this is an import, not a sequence of changes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf import timestamp_pb2
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.common.v1 import channel_pb2
from ecom.orders.v1 import order_pb2, orders_service_pb2, transactions_pb2
from ecom.orders.v1.transactions_pb2 import Payment
from services.orders import MODULE, activities, intake, prices
from services.orders.domain.enums import ActivityType
from services.orders.store import OrderStore
from services.platform.config import Config, load_config
from services.platform.db import Database, utcnow
from services.platform.identity import Caller, Role
from services.platform.migrations import migrate

BATCH = 2000
_CHANNELS = (channel_pb2.CHANNEL_TYPE_WEB,) * 8 + (
    channel_pb2.CHANNEL_TYPE_POS,
    channel_pb2.CHANNEL_TYPE_AMAZON,
)


def _template() -> order_pb2.Order:
    """A checked order of 0 total: its balance summary is all zeros, ready to be varied."""
    order = order_pb2.Order(currency="USD")
    for index in range(2):
        line = order.line_items.add(quantity=1 + index)
        line.product_name.original = f"Product {index}"
        line.price.amount = "10.00"
        line.catalog_reference.app_id = "catalog"
    order.price_summary.subtotal.amount = "0"
    order.price_summary.total.amount = "0"
    order.channel_info.type = channel_pb2.CHANNEL_TYPE_WEB
    request = orders_service_pb2.CreateOrderRequest(order=order)
    checked = intake.prepare(request, Caller("seed", "seed", Role.SERVICE), utcnow())
    checked.activities.append(activities.system(ActivityType.ORDER_PLACED, utcnow()))
    return checked


def _uuid(rng: random.Random) -> str:
    """A random (version 4 shaped) UUID from the seeded generator, quicker than uuid.UUID."""
    digits = f"{rng.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-a{digits[17:20]}-{digits[20:]}"


def build(
    template: order_pb2.Order, number: int, created: datetime, rng: random.Random
) -> tuple[order_pb2.Order, list[transactions_pb2.Payment]]:
    order = order_pb2.Order()
    order.CopyFrom(template)
    order.id = _uuid(rng)
    order.number = number
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(created)
    order.created_date.CopyFrom(stamp)
    order.updated_date.CopyFrom(stamp)
    for line in order.line_items:
        line.id = _uuid(rng)
        line.catalog_reference.catalog_item_id = f"item-{rng.randrange(500)}"
    total = Decimal(rng.randrange(100, 50_000)) / 100
    total_price = prices.price(total, "USD", "en")
    order.price_summary.total.CopyFrom(total_price)
    order.price_summary.subtotal.CopyFrom(total_price)
    buyer = rng.randrange(5000)
    order.buyer_info.email = f"buyer{buyer}@example.com"
    order.buyer_info.member_id = f"member-{buyer}"
    order.channel_info.type = rng.choice(_CHANNELS)
    order.archived = rng.random() < 0.05
    if rng.random() < 0.1:
        order.tags.tags.append("gift")
    roll = rng.random()
    payments: list[transactions_pb2.Payment] = []
    if roll < 0.1:
        order.status = order_pb2.ORDER_STATUS_INITIALIZED
    elif roll < 0.2:
        order.status = order_pb2.ORDER_STATUS_CANCELED
    else:
        order.status = order_pb2.ORDER_STATUS_APPROVED
    summary = order.balance_summary  # zero everywhere in the template
    if order.status == order_pb2.ORDER_STATUS_APPROVED and roll < 0.9:
        payment = transactions_pb2.Payment(
            id=_uuid(rng),
            amount=total_price,
            created_date=stamp,
            updated_date=stamp,
            regular_payment_details=transactions_pb2.RegularPaymentDetails(
                status=transactions_pb2.TRANSACTION_STATUS_APPROVED, payment_method="CreditCard"
            ),
        )
        payments.append(payment)
        order.payment_status = order_pb2.PAYMENT_STATUS_PAID
        summary.paid.CopyFrom(total_price)  # one approved payment of the total: balance 0
    else:
        order.payment_status = order_pb2.PAYMENT_STATUS_NOT_PAID
        summary.balance.CopyFrom(total_price)
    placed = order.activities[0]  # the template's ORDER_PLACED
    placed.id = _uuid(rng)
    placed.created_date.CopyFrom(stamp)
    return order, payments


async def seed(
    database: Database, site: str, count: int, *, days: int = 365, seed_value: int = 7
) -> int:
    """Add `count` orders to `site`, numbered after its last one; returns how many."""
    template = _template()

    async def last_number(session: AsyncSession) -> int:
        return await OrderStore(session).next_number(site) - 1

    # Takes (and keeps) the next number, so numbers continue after existing orders.
    start = await database.run(last_number) + 1
    # Reproducible for one site and starting number, distinct for every seed of a database.
    rng = random.Random(f"{seed_value}/{site}/{start}")
    now = utcnow()
    span = timedelta(days=days).total_seconds()

    def build_batch(first: int) -> tuple[list[order_pb2.Order], dict[str, list[Payment]]]:
        built = [
            build(template, start + i, now - timedelta(seconds=span * (1 - i / count)), rng)
            for i in range(first, min(first + BATCH, count))
        ]
        return [order for order, _ in built], {order.id: paid for order, paid in built if paid}

    async def write(batch: list[order_pb2.Order], payments: dict[str, list[Payment]]) -> None:
        async def unit(session: AsyncSession) -> None:
            await OrderStore(session).add_many(site, batch, payments)

        await database.run(unit)

    # Build the next batch while the previous one is written (the database works in its own
    # thread or server), which nearly halves the time of a large seed.
    writing: asyncio.Task[None] | None = None
    written = 0
    while written < count:
        batch, payments = build_batch(written)
        if writing is not None:
            await writing
        writing = asyncio.create_task(write(batch, payments))
        written += len(batch)
    if writing is not None:
        await writing
    if database.dialect == "postgresql":
        # Fresh statistics now rather than at autovacuum's next turn, so plans fit the data.
        async with database.connection() as connection:
            await connection.exec_driver_sql(
                "ANALYZE orders, order_payments, order_tags, order_catalog_items"
            )
    return written


def seeding_database(config: Config) -> Database:
    """The orders database of `config`, migrated by the caller, for seeding only: on SQLite its
    connections skip fsync and keep a large page cache (seed data is disposable, and this
    makes a large seed several times faster); PostgreSQL is used as configured."""
    database = Database.for_service(config, MODULE.name)
    if database.dialect == "sqlite":

        @event.listens_for(database.engine.sync_engine, "connect")
        def _fast(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
            finally:
                cursor.close()

    return database


async def _main(site: str, count: int) -> None:
    database = seeding_database(load_config())
    await migrate(database, MODULE.migrations)
    try:
        print(f"seeded {await seed(database, site, count)} orders on site {site!r}")
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.orders.seed", description=__doc__)
    parser.add_argument("--site", required=True)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(_main(args.site, args.count))


if __name__ == "__main__":
    main()

"""The order follows `ecom.fulfillment.v1.fulfillments_updated` events: recorded here through a
real transactional outbox and relay (as the fulfillment service does) onto the orders server's
bus, consumed by the orders service's durable consumer, applied in entity_sequence order and
idempotently."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from google.protobuf import any_pb2
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.events.v1 import event_pb2
from ecom.fulfillment.v1 import events_pb2 as fulfillment_events
from ecom.fulfillment.v1 import fulfillment_pb2
from ecom.orders.v1 import order_pb2
from services.platform.config import load_config
from services.platform.db import Database
from services.platform.events.relay import OutboxRelay
from services.platform.migrations import migrate
from services.platform.outbox import record_event
from tests.helpers import eventually
from tests.integration.orders.kit import Served, create, event_types, line, new_order, pb

pytestmark = pytest.mark.asyncio(loop_scope="module")

TYPE = "ecom.fulfillment.v1.fulfillments_updated"
FULFILLED = order_pb2.FULFILLMENT_STATUS_FULFILLED
PARTIAL = order_pb2.FULFILLMENT_STATUS_PARTIALLY_FULFILLED
NONE = order_pb2.FULFILLMENT_STATUS_NOT_FULFILLED


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outbox_db(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> AsyncIterator[Database]:
    """A database with the platform's outbox, standing in for the fulfillment service's."""
    config = load_config(
        {"ECOM_DATA_DIR": str(tmp_path_factory.mktemp("ff")), "ECOM_DATABASE_URL": postgres_url}
    )
    database = Database.for_service(config, f"ff{uuid.uuid4().hex[:8]}")
    await migrate(database, None)
    yield database
    async with database.connection() as conn:
        await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE')
    await database.dispose()


def fulfillment(
    fulfillment_id: str, line_id: str, quantity: int, tracking: str = ""
) -> fulfillment_pb2.Fulfillment:
    result = fulfillment_pb2.Fulfillment(
        id=fulfillment_id,
        line_items=[fulfillment_pb2.FulfillmentLineItem(id=line_id, quantity=quantity)],
    )
    if tracking:
        result.tracking_info.tracking_number = tracking
        result.tracking_info.shipping_provider = "ups"
    return result


async def record(
    database: Database,
    served: Served,
    site: str,
    order_id: str,
    status: int,
    fulfillments: list[fulfillment_pb2.Fulfillment],
    action: int = fulfillment_events.FULFILLMENT_ACTION_CREATED,
) -> None:
    """Record the event in the stand-in's outbox and relay it to the orders server's bus."""
    message = fulfillment_events.FulfillmentsUpdated(
        order_id=order_id,
        fulfillments=fulfillments,
        action=action,  # type: ignore[arg-type]
        fulfillment_id=fulfillments[-1].id if fulfillments else "",
        order_fulfillment_status=status,  # type: ignore[arg-type]
    )

    async def unit(session: AsyncSession) -> None:
        await record_event(session, site=site, type=TYPE, entity_id=order_id, payload=message)

    await database.run(unit)
    await OutboxRelay(database, served.running.runtime.bus).publish_pending()


async def order_of(served: Served, site: str, order_id: str) -> order_pb2.Order:
    response: pb.GetOrderResponse = await served.orders.GetOrder(
        pb.GetOrderRequest(id=order_id), metadata=served.admin(site)
    )
    return response.order


async def reaches(served: Served, site: str, order_id: str, revision: int) -> order_pb2.Order:
    found = order_pb2.Order()

    async def check() -> bool:
        nonlocal found
        found = await order_of(served, site, order_id)
        return found.revision >= revision

    await eventually(check)
    return found


def activities(order: order_pb2.Order) -> list[order_pb2.ActivityType.ValueType]:
    return [a.type for a in order.activities][1:]  # after ORDER_PLACED


async def test_the_order_follows_its_fulfillments(
    pg: Served, outbox_db: Database, site: str
) -> None:
    order = await create(
        pg, site, new_order(lines=[line(quantity=2), line(quantity=1)], total="30.00")
    )
    first, second = (li.id for li in order.line_items)
    f1, f2 = str(uuid.uuid4()), str(uuid.uuid4())

    await record(outbox_db, pg, site, order.id, PARTIAL, [fulfillment(f1, first, 2, "1Z1")])
    now = await reaches(pg, site, order.id, 2)
    assert now.fulfillment_status == PARTIAL
    assert activities(now) == [order_pb2.ACTIVITY_TYPE_TRACKING_NUMBER_ADDED]

    both = [fulfillment(f1, first, 2, "1Z1"), fulfillment(f2, second, 1)]
    await record(outbox_db, pg, site, order.id, FULFILLED, both)
    now = await reaches(pg, site, order.id, 3)
    assert now.fulfillment_status == FULFILLED
    assert activities(now)[-1] == order_pb2.ACTIVITY_TYPE_ORDER_FULFILLED

    edited = [fulfillment(f1, first, 2, "1Z2"), fulfillment(f2, second, 1, "9400")]
    updated = fulfillment_events.FULFILLMENT_ACTION_UPDATED
    await record(outbox_db, pg, site, order.id, FULFILLED, edited, updated)
    now = await reaches(pg, site, order.id, 4)
    assert activities(now)[-2:] == [
        order_pb2.ACTIVITY_TYPE_TRACKING_NUMBER_EDITED,  # f1: 1Z1 -> 1Z2
        order_pb2.ACTIVITY_TYPE_TRACKING_NUMBER_ADDED,  # f2: none -> 9400
    ]

    deleted = fulfillment_events.FULFILLMENT_ACTION_DELETED
    await record(outbox_db, pg, site, order.id, PARTIAL, [edited[0]], deleted)
    now = await reaches(pg, site, order.id, 5)
    assert now.fulfillment_status == PARTIAL
    await record(outbox_db, pg, site, order.id, NONE, [], deleted)
    now = await reaches(pg, site, order.id, 6)
    assert now.fulfillment_status == NONE
    assert activities(now)[-1] == order_pb2.ACTIVITY_TYPE_ORDER_NOT_FULFILLED

    events = await pg.events(site, order.id, 6)
    assert event_types(events) == ["order_created"] + ["order_updated"] * 5
    search = await pg.orders.SearchOrders(
        pb.SearchOrdersRequest(
            filter=pb.OrderFilter(
                fulfillment_statuses=[NONE], ids=[order.id], include_initialized=True
            )
        ),
        metadata=pg.admin(site),
    )
    assert [o.id for o in search.orders] == [order.id]


async def test_stale_and_repeated_events_change_nothing(
    pg: Served, outbox_db: Database, site: str
) -> None:
    order = await create(pg, site, new_order(lines=[line(quantity=1)], total="10.00"))
    line_id = order.line_items[0].id
    bus = pg.running.runtime.bus

    def event(sequence: int, status: int, event_id: str | None = None) -> event_pb2.Event:
        body = fulfillment_events.FulfillmentsUpdated(
            order_id=order.id,
            fulfillments=[fulfillment("f", line_id, 1)] if status == FULFILLED else [],
            order_fulfillment_status=status,  # type: ignore[arg-type]
        )
        packed = any_pb2.Any()
        packed.Pack(body)
        return event_pb2.Event(
            id=event_id or str(uuid.uuid4()),
            type=TYPE,
            site=site,
            entity_id=order.id,
            entity_sequence=sequence,
            payload=packed,
        )

    # Delivered out of order: the newer state (2: deleted, NOT_FULFILLED) before the older (1).
    newer = event(2, NONE)
    await bus.publish([newer])
    await bus.publish([event(1, FULFILLED)])
    await bus.publish([newer])  # redelivered with the same id
    marker = event(3, NONE)  # changes nothing either, but shows the consumer got this far
    await bus.publish([marker])

    async def consumed() -> bool:
        async with pg.running.runtime.database("orders").transaction(readonly=True) as session:
            from sqlalchemy import text

            found: int | None = await session.scalar(
                text("SELECT fulfillment_sequence FROM orders WHERE id = :id"), {"id": order.id}
            )
        return found == 3

    await eventually(consumed)
    now = await order_of(pg, site, order.id)
    assert now.fulfillment_status == NONE
    assert now.revision == 1  # nothing about the order changed
    assert activities(now) == []

"""Learning from orders: `ecom.orders.v1.order_approved` and `order_canceled` events, applied by a
durable consumer (services.platform.events.consumer) in this service's database.

An approved order is counted on the UTC day it was created (`order.created_date`; the event's
time when the payload lacks it), so a window of days means "orders placed in those days". A
canceled order is taken back out of every day it was counted in. The consumer deduplicates by
event id, and the store by order id, so a redelivered or repeated event changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.events.v1 import event_pb2
from ecom.orders.v1 import events_pb2 as order_events_pb2
from ecom.orders.v1 import order_pb2
from services.platform.db import utcnow
from services.recommendations.domain import OrderFacts, OrderLine, Ref, order_facts
from services.recommendations.store import OrderStats

log = logging.getLogger("ecom.recommendations.events")

ORDER_APPROVED = "ecom.orders.v1.order_approved"
ORDER_CANCELED = "ecom.orders.v1.order_canceled"
EVENT_TYPES = (ORDER_APPROVED, ORDER_CANCELED)
CONSUMER_NAME = "recommendations.order_statistics"

Handler = Callable[[AsyncSession, event_pb2.Event], Awaitable[None]]


def order_handler(clock: Callable[[], datetime] = utcnow) -> Handler:
    async def handle(session: AsyncSession, event: event_pb2.Event) -> None:
        await apply_order_event(session, event, clock())

    return handle


def facts_of(site: str, order: order_pb2.Order, fallback_time: datetime) -> OrderFacts:
    ordered_at = fallback_time
    if order.HasField("created_date"):
        ordered_at = order.created_date.ToDatetime(tzinfo=UTC)
    lines = [
        OrderLine(
            Ref(
                line.catalog_reference.app_id,
                line.catalog_reference.catalog_item_id,
                json_format.MessageToDict(line.catalog_reference.options),
            ),
            line.quantity,
        )
        for line in order.line_items
    ]
    return order_facts(site, order.id, ordered_at, lines)


async def apply_order_event(session: AsyncSession, event: event_pb2.Event, now: datetime) -> bool:
    """Apply one order event in the caller's transaction; True when the statistics changed."""
    stats = OrderStats(session)
    if event.type == ORDER_APPROVED:
        approved = order_events_pb2.OrderApproved()
        if not event.payload.Unpack(approved):
            log.warning("event %s (%s) is not an OrderApproved; ignored", event.id, event.type)
            return False
        if not approved.order.id:
            approved.order.id = event.entity_id
        event_time = (
            event.event_time.ToDatetime(tzinfo=UTC) if event.HasField("event_time") else now
        )
        return await stats.count(facts_of(event.site, approved.order, event_time), now)
    if event.type == ORDER_CANCELED:
        canceled = order_events_pb2.OrderCanceled()
        if not event.payload.Unpack(canceled):
            log.warning("event %s (%s) is not an OrderCanceled; ignored", event.id, event.type)
            return False
        return await stats.uncount(event.site, canceled.order.id or event.entity_id, now)
    return False

"""The order follows its fulfillments: `ecom.fulfillment.v1.fulfillments_updated` events, applied
by a durable consumer (services.platform.events.consumer) in the orders database.

Each event carries the order's complete fulfillment state (all fulfillments and the order's
fulfillment status after the change), so the handler applies an event only when its
`entity_sequence` is above the highest one applied to the order: a stale or redelivered event
changes nothing, and a skipped one is covered by the next. The consumer also deduplicates by
event id, in the same transaction.

Applying records ORDER_FULFILLED / ORDER_NOT_FULFILLED when the status becomes FULFILLED /
NOT_FULFILLED, and TRACKING_NUMBER_ADDED / _EDITED by comparing the fulfillments' tracking
numbers with those of the last applied event; when anything of the order changed, its revision
grows and `order_updated` is emitted, as for any change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.events.v1 import event_pb2
from ecom.fulfillment.v1 import events_pb2 as fulfillment_events_pb2
from ecom.orders.v1 import order_pb2
from services.orders.change import OrderChange
from services.orders.domain.enums import FulfillmentStatus
from services.orders.domain.lifecycle import fulfillment_activity, tracking_activities
from services.orders.store import OrderStore
from services.platform.db import utcnow

log = logging.getLogger("ecom.orders.fulfillment")

FULFILLMENTS_UPDATED = "ecom.fulfillment.v1.fulfillments_updated"
CONSUMER_NAME = "orders.fulfillment_status"

Handler = Callable[[AsyncSession, event_pb2.Event], Awaitable[None]]


def fulfillment_handler(clock: Callable[[], datetime] = utcnow) -> Handler:
    async def handle(session: AsyncSession, event: event_pb2.Event) -> None:
        await apply_fulfillments_updated(session, event, clock())

    return handle


async def apply_fulfillments_updated(
    session: AsyncSession, event: event_pb2.Event, now: datetime
) -> bool:
    """Apply one event in the caller's transaction; True when it was newer than the order's
    last applied one."""
    payload = fulfillment_events_pb2.FulfillmentsUpdated()
    if event.type != FULFILLMENTS_UPDATED or not event.payload.Unpack(payload):
        log.warning("event %s (%s) is not a FulfillmentsUpdated; ignored", event.id, event.type)
        return False
    order_id = payload.order_id or event.entity_id
    store = OrderStore(session)
    stored = await store.load(event.site, order_id, lock=True)
    if stored is None:
        log.warning("fulfillment event %s names unknown order %s", event.id, order_id)
        return False
    if event.entity_sequence <= stored.fulfillment_sequence:
        return False  # older than (or the same as) what the order already reflects
    stored.fulfillment_sequence = event.entity_sequence
    change = OrderChange(store, event.site, stored, now)
    order = stored.order
    try:
        status = FulfillmentStatus(payload.order_fulfillment_status)
    except ValueError:
        log.warning("fulfillment event %s has no order fulfillment status", event.id)
    else:
        previous = FulfillmentStatus(order.fulfillment_status)
        if status is not previous:
            order.fulfillment_status = order_pb2.FulfillmentStatus.ValueType(int(status))
            activity = fulfillment_activity(previous, status)
            if activity is not None:
                change.record(activity)
    tracking = {f.id: f.tracking_info.tracking_number for f in payload.fulfillments}
    for kind in tracking_activities(stored.tracking, tracking):
        change.record(kind)
    stored.tracking = tracking
    # The sequence and tracking bookkeeping is saved even when the order itself is unchanged.
    await change.finish(save_always=True)
    return True

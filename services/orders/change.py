"""One unit of work's change to one order: the activities it records, the events it emits, and
the bookkeeping every change of an order shares.

`finish()` compares the order with how it was loaded: when anything differs, the revision grows
by one, `updated_date` moves, the row is written and `order_updated` follows the specific events
(Order: "every change of any field ... emits order_updated"). A request that changes nothing
writes nothing and emits only the events that do not depend on a change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from google.protobuf.message import Message

from ecom.orders.v1 import events_pb2, order_pb2
from services.orders import activities, events
from services.orders.domain.enums import ActivityType
from services.orders.record import set_timestamp
from services.orders.store import OrderStore, StoredOrder

PayloadOf = Callable[[order_pb2.Order], Message]


class OrderChange:
    def __init__(self, store: OrderStore, site: str, stored: StoredOrder, now: datetime) -> None:
        self.store = store
        self.site = site
        self.stored = stored
        self.order = stored.order
        self.now = now
        self.tags_changed = False
        self._before = self.order.SerializeToString(deterministic=True)
        self._events: list[tuple[str, PayloadOf]] = []

    def record(
        self, kind: ActivityType, *, refunded: order_pb2.OrderRefunded | None = None
    ) -> order_pb2.Activity:
        """Record an activity of the suite."""
        return self.append(activities.system(kind, self.now, refunded=refunded))

    def append(self, activity: order_pb2.Activity) -> order_pb2.Activity:
        self.order.activities.append(activity)
        return self.order.activities[-1]

    def emit(self, event_type: str, payload: PayloadOf) -> None:
        """Emit an event after the change is written; `payload` gets the final order."""
        self._events.append((event_type, payload))

    @property
    def changed(self) -> bool:
        return self.order.SerializeToString(deterministic=True) != self._before

    async def finish(self, *, save_always: bool = False) -> order_pb2.Order:
        """Write the change and its events; returns the order as it now is."""
        changed = self.changed
        if changed:
            self.order.revision += 1
            set_timestamp(self.order.updated_date, self.now)
        if changed or save_always:
            await self.store.save(self.site, self.stored, tags_changed=self.tags_changed)
        for event_type, payload in self._events:
            await events.emit(
                self.store.session, self.site, event_type, self.order.id, payload(self.order)
            )
        if changed:
            await events.emit(
                self.store.session,
                self.site,
                events.ORDER_UPDATED,
                self.order.id,
                events_pb2.OrderUpdated(order=self.order),
            )
        return self.order

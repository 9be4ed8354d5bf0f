"""The write side shared by every checkout change: storing a recalculated checkout (revision,
event, abandoned-record copy) and completing a checkout (event, recovery). Each function runs
inside the caller's unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.checkout.v1 import abandoned_checkout_pb2, checkout_pb2
from services.checkout import abandoned, abandoned_store, events, store
from services.checkout.domain import Sources
from services.checkout.settings import CheckoutSettings
from services.checkout.store import timestamp
from services.checkout.urls import checkout_url


class StaleWrite(Exception):
    """The checkout changed since it was read: apply the change again to the new state."""


def unchanged(before: checkout_pb2.Checkout, after: checkout_pb2.Checkout) -> bool:
    """Equal apart from what every write changes (revision, updated_date)."""
    if before.revision == after.revision and before.updated_date == after.updated_date:
        # The usual case (a recalculation of the stored checkout): no copies to clear them.
        return before.SerializeToString(deterministic=True) == after.SerializeToString(
            deterministic=True
        )
    a, b = checkout_pb2.Checkout(), checkout_pb2.Checkout()
    a.CopyFrom(before)
    b.CopyFrom(after)
    for message in (a, b):
        message.ClearField("revision")
        message.ClearField("updated_date")
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


async def store_change(
    session: AsyncSession,
    site: str,
    stored: store.StoredCheckout,
    checkout: checkout_pb2.Checkout,
    sources: Sources,
    now: datetime,
    settings: CheckoutSettings,
) -> checkout_pb2.Checkout:
    """Write `checkout` over `stored` (already locked and checked by the caller) with revision
    + 1 and `checkout_updated`, unless nothing would change."""
    if unchanged(stored.checkout, checkout):
        return stored.checkout
    checkout.revision = stored.revision + 1
    checkout.updated_date.CopyFrom(timestamp(now))
    await store.update(session, site, checkout, sources)
    await events.checkout_updated(session, site, checkout)
    await refresh_abandoned(session, site, checkout, now, settings)
    return checkout


async def refresh_abandoned(
    session: AsyncSession,
    site: str,
    checkout: checkout_pb2.Checkout,
    now: datetime,
    settings: CheckoutSettings,
) -> None:
    """While a checkout's abandoned record is ABANDONED, it follows the checkout (no event)."""
    record = await abandoned_store.of_checkout(session, site, checkout.id, lock=True)
    if not abandoned_store.is_abandoned(record):
        return
    assert record is not None
    updated = abandoned.from_checkout(
        record, checkout, checkout_url=checkout_url(checkout, settings) or ""
    )
    updated.updated_date.CopyFrom(timestamp(now))
    await abandoned_store.save(session, site, updated)


async def complete(
    session: AsyncSession,
    site: str,
    stored: store.StoredCheckout,
    order_id: str,
    now: datetime,
    settings: CheckoutSettings,
) -> checkout_pb2.Checkout:
    """Mark `stored` (locked by the caller) completed, with `checkout_completed` and, when it
    had been abandoned, the record RECOVERED with `abandoned_checkout_recovered`."""
    checkout = checkout_pb2.Checkout()
    checkout.CopyFrom(stored.checkout)
    checkout.completed = True
    checkout.order_id = order_id
    checkout.revision = stored.revision + 1
    checkout.updated_date.CopyFrom(timestamp(now))
    await store.update(session, site, checkout, stored.sources)
    await events.checkout_completed(session, site, checkout)
    record = await abandoned_store.of_checkout(session, site, checkout.id, lock=True)
    if abandoned_store.is_abandoned(record):
        assert record is not None
        recovered = abandoned.from_checkout(
            record, checkout, checkout_url=checkout_url(checkout, settings) or ""
        )
        recovered.status = abandoned_checkout_pb2.ABANDONED_CHECKOUT_STATUS_RECOVERED
        recovered.checkout_recovered_date.CopyFrom(timestamp(now))
        recovered.updated_date.CopyFrom(timestamp(now))
        await abandoned_store.save(session, site, recovered, recovered=now)
        await events.abandoned_recovered(session, site, recovered, order_id)
    return checkout

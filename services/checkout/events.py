"""The checkout domain's events, recorded in the outbox inside the change's transaction.

Payloads carry the state after the change; a gift card's `code` is never in a payload (only its
`obfuscated_code`), as events.proto promises."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.checkout.v1 import abandoned_checkout_pb2, checkout_pb2, events_pb2
from services.platform.outbox import record_event

CHECKOUT_CREATED = "ecom.checkout.v1.checkout_created"
CHECKOUT_UPDATED = "ecom.checkout.v1.checkout_updated"
CHECKOUT_COMPLETED = "ecom.checkout.v1.checkout_completed"
ABANDONED_CHECKOUT_CREATED = "ecom.checkout.v1.abandoned_checkout_created"
ABANDONED_CHECKOUT_RECOVERED = "ecom.checkout.v1.abandoned_checkout_recovered"


def redacted(checkout: checkout_pb2.Checkout) -> checkout_pb2.Checkout:
    """The checkout without its gift card code (events are read widely). Not a copy when there
    is nothing to redact: the event payload copies it anyway."""
    if not checkout.gift_card.code:
        return checkout
    copy = checkout_pb2.Checkout()
    copy.CopyFrom(checkout)
    copy.gift_card.code = ""
    return copy


async def checkout_created(
    session: AsyncSession, site: str, checkout: checkout_pb2.Checkout
) -> None:
    await record_event(
        session,
        site=site,
        type=CHECKOUT_CREATED,
        entity_id=checkout.id,
        payload=events_pb2.CheckoutCreated(checkout=redacted(checkout)),
    )


async def checkout_updated(
    session: AsyncSession, site: str, checkout: checkout_pb2.Checkout
) -> None:
    await record_event(
        session,
        site=site,
        type=CHECKOUT_UPDATED,
        entity_id=checkout.id,
        payload=events_pb2.CheckoutUpdated(checkout=redacted(checkout)),
    )


async def checkout_completed(
    session: AsyncSession, site: str, checkout: checkout_pb2.Checkout
) -> None:
    await record_event(
        session,
        site=site,
        type=CHECKOUT_COMPLETED,
        entity_id=checkout.id,
        payload=events_pb2.CheckoutCompleted(
            checkout=redacted(checkout), order_id=checkout.order_id
        ),
    )


async def abandoned_created(
    session: AsyncSession, site: str, record: abandoned_checkout_pb2.AbandonedCheckout
) -> None:
    await record_event(
        session,
        site=site,
        type=ABANDONED_CHECKOUT_CREATED,
        entity_id=record.id,
        payload=events_pb2.AbandonedCheckoutCreated(abandoned_checkout=record),
    )


async def abandoned_recovered(
    session: AsyncSession,
    site: str,
    record: abandoned_checkout_pb2.AbandonedCheckout,
    order_id: str,
) -> None:
    await record_event(
        session,
        site=site,
        type=ABANDONED_CHECKOUT_RECOVERED,
        entity_id=record.id,
        payload=events_pb2.AbandonedCheckoutRecovered(abandoned_checkout=record, order_id=order_id),
    )

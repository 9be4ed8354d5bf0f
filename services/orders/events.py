"""The orders service's events, written into the outbox in the transaction of the change.

Types are those of CONTRACT.md; payloads are `ecom.orders.v1` event messages carrying the order
(or its transactions) as they are right after the change, activities included.
"""

from __future__ import annotations

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.outbox import record_event

PACKAGE = "ecom.orders.v1"
ORDER_CREATED = f"{PACKAGE}.order_created"
ORDER_UPDATED = f"{PACKAGE}.order_updated"
ORDER_APPROVED = f"{PACKAGE}.order_approved"
ORDER_CANCELED = f"{PACKAGE}.order_canceled"
ORDER_PAYMENT_STATUS_UPDATED = f"{PACKAGE}.order_payment_status_updated"
ORDER_TRANSACTIONS_UPDATED = f"{PACKAGE}.order_transactions_updated"

ALL_TYPES = (
    ORDER_CREATED,
    ORDER_UPDATED,
    ORDER_APPROVED,
    ORDER_CANCELED,
    ORDER_PAYMENT_STATUS_UPDATED,
    ORDER_TRANSACTIONS_UPDATED,
)


async def emit(
    session: AsyncSession, site: str, event_type: str, order_id: str, payload: Message
) -> None:
    """One event about an order; its entity is the order, so the events of one order are
    numbered (entity_sequence) and published in the order they were written."""
    await record_event(session, site=site, type=event_type, entity_id=order_id, payload=payload)

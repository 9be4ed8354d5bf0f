"""The stored order: columns derived from its document, and the plain facts the domain rules
read from its messages (totals, lines, payments, refunds)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

from google.protobuf import timestamp_pb2

from ecom.orders.v1 import order_pb2, transactions_pb2
from services.orders.domain.balance import Balance, PaymentFacts
from services.orders.domain.enums import TransactionStatus
from services.orders.domain.lines import LineFacts
from services.orders.domain.search import amount_key
from services.orders.prices import amount_of, price
from services.pricing.money import PRICING_CONTEXT

_ZERO = Decimal(0)
_SUCCEEDED = transactions_pb2.REFUND_STATUS_SUCCEEDED


def set_timestamp(target: timestamp_pb2.Timestamp, value: datetime) -> None:
    target.FromDatetime(value.astimezone(UTC))


def to_datetime(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def locale_of(order: order_pb2.Order) -> str:
    """The language amounts are formatted in: the buyer's, else the site's, else English."""
    return order.buyer_language or order.site_language or "en"


def total_of(order: order_pb2.Order) -> Decimal:
    return amount_of(order.price_summary.total)


def apply_balance(order: order_pb2.Order, balance: Balance) -> None:
    currency, locale = order.currency, locale_of(order)
    summary = order.balance_summary
    summary.balance.CopyFrom(price(balance.balance, currency, locale))
    summary.paid.CopyFrom(price(balance.paid, currency, locale))
    summary.refunded.CopyFrom(price(balance.refunded, currency, locale))
    summary.authorized.CopyFrom(price(balance.authorized, currency, locale))
    summary.pending.CopyFrom(price(balance.pending, currency, locale))


def line_facts(order: order_pb2.Order) -> dict[str, LineFacts]:
    return {
        line.id: LineFacts(
            id=line.id,
            quantity=line.quantity,
            refund_quantity=line.refund_quantity,
            restock_quantity=line.restock_quantity,
            app_id=line.catalog_reference.app_id,
        )
        for line in order.line_items
    }


def payment_facts(payment: transactions_pb2.Payment) -> PaymentFacts:
    amount = amount_of(payment.amount)
    if payment.HasField("gift_card_payment_details"):
        details = payment.gift_card_payment_details
        return PaymentFacts(
            payment.id, amount, None, voided=details.voided, refund_disabled=payment.refund_disabled
        )
    status = TransactionStatus(payment.regular_payment_details.status)
    return PaymentFacts(payment.id, amount, status, refund_disabled=payment.refund_disabled)


def refunded_by_payment(refunds: Iterable[transactions_pb2.Refund]) -> dict[str, Decimal]:
    """Succeeded refund amounts per payment id."""
    totals: dict[str, Decimal] = {}
    with localcontext(PRICING_CONTEXT):
        for refund in refunds:
            for transaction in refund.transactions:
                if transaction.refund_status == _SUCCEEDED:
                    previous = totals.get(transaction.payment_id, _ZERO)
                    totals[transaction.payment_id] = previous + amount_of(transaction.amount)
    return totals


def catalog_item_ids(order: order_pb2.Order) -> set[str]:
    found: set[str] = set()
    for line in order.line_items:
        found.update(
            value
            for value in (line.catalog_reference.catalog_item_id, line.root_catalog_item_id)
            if value
        )
    return found


def columns(order: order_pb2.Order) -> dict[str, Any]:
    """The orders row of `order` except site, the fulfillment bookkeeping and the document."""
    summary, balance = order.price_summary, order.balance_summary
    buyer = order.buyer_info
    return {
        "id": order.id,
        "number": order.number,
        "status": int(order.status),
        "payment_status": int(order.payment_status),
        "fulfillment_status": int(order.fulfillment_status),
        "archived": order.archived,
        "created_at": to_datetime(order.created_date),
        "updated_at": to_datetime(order.updated_date),
        "currency": order.currency,
        "total_key": amount_key(total_of(order)),
        "subtotal": summary.subtotal.amount,
        "shipping": summary.shipping.amount,
        "tax": summary.tax.amount,
        "discount": summary.discount.amount,
        "additional_fees": summary.additional_fees.amount,
        "total": summary.total.amount,
        "paid": balance.paid.amount,
        "refunded": balance.refunded.amount,
        "buyer_email": buyer.email.lower() or None,
        "member_id": buyer.member_id or None,
        "visitor_id": buyer.visitor_id or None,
        "contact_id": buyer.contact_id or None,
        "channel_type": int(order.channel_info.type),
        "checkout_id": order.checkout_id or None,
        "revision": order.revision,
    }


def document(order: order_pb2.Order) -> bytes:
    """The stored form of `order`: the whole message, activities included, so that one row read
    gives a complete order (an order holds at most 1000 comments and custom activities)."""
    return order.SerializeToString(deterministic=True)

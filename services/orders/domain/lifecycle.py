"""The order's lifecycle: status at creation, approval, cancellation, and what a change of the
derived payment or fulfillment status records."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from services.orders.domain.enums import (
    OFFLINE_OPTIONS,
    ActivityType,
    ApprovalStrategy,
    FulfillmentStatus,
    OrderStatus,
    PaymentOption,
    PaymentStatus,
)
from services.platform import errors


def initial_status(
    strategy: ApprovalStrategy, total: Decimal, payment_options: Iterable[PaymentOption]
) -> OrderStatus:
    """OrderApprovalStrategy: APPROVED at once when nothing is due online, else INITIALIZED."""
    if total == 0:
        return OrderStatus.APPROVED
    if strategy is ApprovalStrategy.DEFAULT:
        options = list(payment_options)
        if options and all(option in OFFLINE_OPTIONS for option in options):
            return OrderStatus.APPROVED
    return OrderStatus.INITIALIZED


def initial_payment_status(total: Decimal) -> PaymentStatus:
    return PaymentStatus.PAID if total == 0 else PaymentStatus.NOT_PAID


def check_cancelable(status: OrderStatus) -> None:
    if status is OrderStatus.CANCELED:
        raise errors.FailedPrecondition(
            "ORDER_ALREADY_CANCELED", "the order is already canceled; canceling is terminal"
        )


def approves(status: OrderStatus) -> bool:
    """ApproveOrder: True when the order becomes APPROVED now, False when it already is."""
    if status is OrderStatus.CANCELED:
        raise errors.FailedPrecondition("ORDER_CANCELED", "a canceled order cannot be approved")
    return status is OrderStatus.INITIALIZED


def approved_by_payment(status: OrderStatus, new_payment_status: PaymentStatus) -> bool:
    """An INITIALIZED order becomes APPROVED the first time it is paid in full."""
    return status is OrderStatus.INITIALIZED and new_payment_status is PaymentStatus.PAID


def payment_activity(new_status: PaymentStatus, *, refund_recorded: bool) -> ActivityType | None:
    """The activity a change of payment status records. A refund records its own
    ORDER_REFUNDED (with details), so the status change adds none then."""
    if new_status is PaymentStatus.PAID:
        return ActivityType.ORDER_PAID
    if new_status is PaymentStatus.PARTIALLY_PAID:
        return ActivityType.ORDER_PARTIALLY_PAID
    if new_status in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.FULLY_REFUNDED):
        return None if refund_recorded else ActivityType.ORDER_REFUNDED
    return None


def fulfillment_activity(old: FulfillmentStatus, new: FulfillmentStatus) -> ActivityType | None:
    if old is new:
        return None
    if new is FulfillmentStatus.FULFILLED:
        return ActivityType.ORDER_FULFILLED
    if new is FulfillmentStatus.NOT_FULFILLED:
        return ActivityType.ORDER_NOT_FULFILLED
    return None


def tracking_activities(before: dict[str, str], after: dict[str, str]) -> list[ActivityType]:
    """TRACKING_NUMBER_ADDED / _EDITED from the fulfillments' tracking numbers before and after
    (fulfillment id -> tracking number, empty when untracked), in the order of `after`."""
    found: list[ActivityType] = []
    for fulfillment_id, number in after.items():
        previous = before.get(fulfillment_id, "")
        if not number or number == previous:
            continue
        found.append(
            ActivityType.TRACKING_NUMBER_EDITED if previous else ActivityType.TRACKING_NUMBER_ADDED
        )
    return found

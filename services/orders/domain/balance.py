"""What an order's transactions add up to: BalanceSummary and the derived PaymentStatus.

The rules are those of `ecom.orders.v1.BalanceSummary` and `PaymentStatus`; they are recomputed
from every payment and refund after each change, never adjusted incrementally, so the stored
figures cannot drift from the transactions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from services.orders.domain.enums import PaymentStatus, TransactionStatus
from services.pricing.money import PRICING_CONTEXT

_ZERO = Decimal(0)

#: Regular payments in these statuses brought money in.
PAID_STATUSES = frozenset(
    {
        TransactionStatus.APPROVED,
        TransactionStatus.PARTIALLY_REFUNDED,
        TransactionStatus.REFUNDED,
    }
)
#: Regular payments in these statuses are pending (held or not yet known).
PENDING_STATUSES = frozenset({TransactionStatus.PENDING, TransactionStatus.AUTHORIZED})


@dataclass(frozen=True)
class PaymentFacts:
    """What the balance rules need of one payment."""

    id: str
    amount: Decimal
    #: None for a gift card payment, which has no status (only `voided`).
    status: TransactionStatus | None
    voided: bool = False
    refund_disabled: bool = False

    @property
    def is_gift_card(self) -> bool:
        return self.status is None

    @property
    def counts_as_paid(self) -> bool:
        if self.is_gift_card:
            return not self.voided
        return self.status in PAID_STATUSES


@dataclass(frozen=True)
class Balance:
    paid: Decimal
    refunded: Decimal
    authorized: Decimal
    pending: Decimal
    #: `total - paid`: negative when more than the total was paid.
    balance: Decimal


def summarize(
    total: Decimal, payments: Iterable[PaymentFacts], refunded_amounts: Iterable[Decimal]
) -> Balance:
    """The BalanceSummary of an order of `total` with these payments and succeeded refunds."""
    paid = authorized = pending = _ZERO
    with localcontext(PRICING_CONTEXT):  # exact: no rounding at 28 digits
        for payment in payments:
            if payment.counts_as_paid:
                paid += payment.amount
            elif payment.status in PENDING_STATUSES:
                pending += payment.amount
                if payment.status is TransactionStatus.AUTHORIZED:
                    authorized += payment.amount
        refunded = sum(refunded_amounts, _ZERO)
        balance = total - paid
    return Balance(
        paid=paid, refunded=refunded, authorized=authorized, pending=pending, balance=balance
    )


def payment_status(balance: Balance, total: Decimal) -> PaymentStatus:
    """The first matching rule of ecom.orders.v1.PaymentStatus."""
    if balance.refunded > 0 and balance.refunded >= balance.paid:
        return PaymentStatus.FULLY_REFUNDED
    if balance.refunded > 0:
        return PaymentStatus.PARTIALLY_REFUNDED
    if balance.paid >= total:
        return PaymentStatus.PAID
    if balance.paid > 0:
        return PaymentStatus.PARTIALLY_PAID
    if balance.pending > 0:
        return PaymentStatus.PENDING
    return PaymentStatus.NOT_PAID

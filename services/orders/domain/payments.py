"""Payment rules: which statuses a caller may record, and which status changes are allowed."""

from __future__ import annotations

from dataclasses import dataclass

from services.orders.domain.enums import TransactionStatus
from services.platform import errors

#: Statuses only the suite sets (through refunds); callers may not record or request them.
SUITE_ONLY = frozenset({TransactionStatus.REFUNDED, TransactionStatus.PARTIALLY_REFUNDED})

#: Allowed changes through UpdatePaymentStatus (ecom.orders.v1.TransactionStatus).
ALLOWED_CHANGES: dict[TransactionStatus, frozenset[TransactionStatus]] = {
    TransactionStatus.PENDING: frozenset(
        {
            TransactionStatus.APPROVED,
            TransactionStatus.AUTHORIZED,
            TransactionStatus.CANCELED,
            TransactionStatus.DECLINED,
        }
    ),
    TransactionStatus.AUTHORIZED: frozenset({TransactionStatus.APPROVED, TransactionStatus.VOIDED}),
}

#: Most payments and refunds one order holds (each).
MAX_TRANSACTIONS = 500
MAX_PAYMENTS_PER_CALL = 50


def requested_status(value: int, field: str) -> TransactionStatus:
    """A status a caller asks for: a known value that is not UNSPECIFIED or suite-only."""
    try:
        status = TransactionStatus(value)
    except ValueError:
        raise errors.InvalidArgument.of(field, "required: a TRANSACTION_STATUS_* value") from None
    if status in SUITE_ONLY:
        raise errors.InvalidArgument.of(
            field, f"{status.name} is set by the suite when refunds are recorded"
        )
    return status


@dataclass(frozen=True)
class StatusChange:
    """The outcome of asking a payment to take a status: `changed` False is a no-op retry."""

    changed: bool


def change_regular_status(current: TransactionStatus, wanted: TransactionStatus) -> StatusChange:
    if current is wanted:
        return StatusChange(changed=False)
    if wanted not in ALLOWED_CHANGES.get(current, frozenset()):
        raise errors.FailedPrecondition(
            "INVALID_PAYMENT_STATUS_TRANSITION",
            f"a {current.name} payment cannot become {wanted.name}",
            metadata={"current_status": f"TRANSACTION_STATUS_{current.name}"},
        )
    return StatusChange(changed=True)


def change_gift_card_status(voided: bool, wanted: TransactionStatus, field: str) -> StatusChange:
    """Gift card payments have no status; VOIDED is the one change they accept."""
    if wanted is not TransactionStatus.VOIDED:
        raise errors.InvalidArgument.of(field, "a gift card payment only accepts VOIDED")
    return StatusChange(changed=not voided)


def check_payment_room(existing: int, adding: int) -> None:
    if existing + adding > MAX_TRANSACTIONS:
        raise errors.FailedPrecondition(
            "TRANSACTION_LIMIT_EXCEEDED",
            f"an order holds at most {MAX_TRANSACTIONS} payments; it has {existing}",
            metadata={"limit": str(MAX_TRANSACTIONS)},
        )

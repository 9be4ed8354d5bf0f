"""AddRefund's rules: what may be refunded from which payment, and what changes with it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from services.orders.domain.balance import PaymentFacts
from services.orders.domain.enums import RestockType, TransactionStatus
from services.orders.domain.lines import LineFacts, quantity_violations
from services.orders.domain.payments import MAX_TRANSACTIONS
from services.platform import errors
from services.pricing.money import PRICING_CONTEXT

MAX_REFUND_TRANSACTIONS = 50
_ZERO = Decimal(0)
#: Regular payments in these statuses can be refunded from.
REFUNDABLE = frozenset({TransactionStatus.APPROVED, TransactionStatus.PARTIALLY_REFUNDED})


@dataclass(frozen=True)
class RefundLine:
    line_item_id: str
    quantity: int


@dataclass(frozen=True)
class RefundRequest:
    #: (payment id, amount) per transaction, amounts already parsed and positive.
    transactions: Sequence[tuple[str, Decimal]]
    items: Sequence[RefundLine]
    restock_type: RestockType
    restock_items: Sequence[RefundLine]


@dataclass(frozen=True)
class RefundPlan:
    #: New status of each regular payment refunded from.
    payment_statuses: Mapping[str, TransactionStatus]
    #: Units to add to each line's refund_quantity.
    refund_quantities: Mapping[str, int]
    #: Units to add to each line's restock_quantity (and to put back in stock).
    restock_quantities: Mapping[str, int]
    amount: Decimal


def check_shape(request: RefundRequest) -> None:
    """The INVALID_ARGUMENT checks of AddRefund that need no order."""
    problems = errors.Violations()
    if not request.transactions:
        problems.add("refund.transactions", "required: at least one transaction")
    elif len(request.transactions) > MAX_REFUND_TRANSACTIONS:
        problems.add("refund.transactions", f"at most {MAX_REFUND_TRANSACTIONS} transactions")
    seen: set[str] = set()
    for index, (payment_id, _amount) in enumerate(request.transactions):
        path = f"refund.transactions[{index}].payment_id"
        if not payment_id:
            problems.add(path, "required")
        elif payment_id in seen:
            problems.add(path, "names a payment another transaction already refunds from")
        seen.add(payment_id)
    quantity_violations(problems, "refund.details.items", request.items)
    restock_path = "side_effects.restock_info.items"
    quantity_violations(problems, restock_path, request.restock_items)
    if request.restock_type is RestockType.ALL_ITEMS and not request.items:
        problems.add(
            "side_effects.restock_info.type", "ALL_ITEMS restocks refund.details.items: none given"
        )
    if request.restock_type is RestockType.SOME_ITEMS and not request.restock_items:
        problems.add(restock_path, "required with restock type SOME_ITEMS")
    if request.restock_type is not RestockType.SOME_ITEMS and request.restock_items:
        problems.add(restock_path, "only allowed with restock type SOME_ITEMS")
    problems.raise_if_any()


def plan_refund(
    request: RefundRequest,
    *,
    payments: Mapping[str, PaymentFacts],
    refunded_by_payment: Mapping[str, Decimal],
    lines: Mapping[str, LineFacts],
    refund_count: int,
) -> RefundPlan:
    """Check a well-formed refund against the order's state and say what it changes."""
    for payment_id, _amount in request.transactions:
        if payment_id not in payments:
            raise errors.NotFound(
                "PAYMENT_NOT_FOUND",
                f"the order has no payment {payment_id!r}",
                metadata={"payment_id": payment_id},
            )
    restocked = request.items if request.restock_type is RestockType.ALL_ITEMS else ()
    if request.restock_type is RestockType.SOME_ITEMS:
        restocked = request.restock_items
    for item in (*request.items, *restocked):
        if item.line_item_id not in lines:
            raise errors.NotFound(
                "LINE_ITEM_NOT_FOUND",
                f"the order has no line {item.line_item_id!r}",
                metadata={"line_item_id": item.line_item_id},
            )
    if refund_count + 1 > MAX_TRANSACTIONS:
        raise errors.FailedPrecondition(
            "TRANSACTION_LIMIT_EXCEEDED",
            f"an order holds at most {MAX_TRANSACTIONS} refunds",
            metadata={"limit": str(MAX_TRANSACTIONS)},
        )
    statuses: dict[str, TransactionStatus] = {}
    total = _ZERO
    for payment_id, amount in request.transactions:
        payment = payments[payment_id]
        _check_refundable(payment)
        already = refunded_by_payment.get(payment_id, _ZERO)
        with localcontext(PRICING_CONTEXT):  # exact: amounts may carry up to 46 digits
            refundable = payment.amount - already
            left = refundable - amount
            total += amount
        if amount > refundable:
            raise errors.FailedPrecondition(
                "REFUND_EXCEEDS_PAID",
                f"payment {payment_id} has {refundable} left to refund; {amount} was asked",
                metadata={"payment_id": payment_id, "refundable_amount": f"{refundable:f}"},
            )
        if not payment.is_gift_card:
            statuses[payment_id] = (
                TransactionStatus.REFUNDED if left <= 0 else TransactionStatus.PARTIALLY_REFUNDED
            )
    refund_quantities: dict[str, int] = {}
    for item in request.items:
        line = lines[item.line_item_id]
        if item.quantity > line.refundable:
            raise errors.FailedPrecondition(
                "REFUND_QUANTITY_EXCEEDED",
                f"line {item.line_item_id} has {line.refundable} units left to refund",
                metadata={
                    "line_item_id": item.line_item_id,
                    "refundable_quantity": str(line.refundable),
                },
            )
        refund_quantities[item.line_item_id] = item.quantity
    restock_quantities: dict[str, int] = {}
    for item in restocked:
        line = lines[item.line_item_id]
        if item.quantity > line.restockable:
            raise errors.FailedPrecondition(
                "RESTOCK_QUANTITY_EXCEEDED",
                f"line {item.line_item_id} has {line.restockable} units left to restock",
                metadata={
                    "line_item_id": item.line_item_id,
                    "restockable_quantity": str(line.restockable),
                },
            )
        restock_quantities[item.line_item_id] = item.quantity
    return RefundPlan(statuses, refund_quantities, restock_quantities, total)


def _check_refundable(payment: PaymentFacts) -> None:
    refundable = not payment.voided if payment.is_gift_card else payment.status in REFUNDABLE
    if not refundable:
        state = "voided" if payment.status is None else payment.status.name
        raise errors.FailedPrecondition(
            "PAYMENT_NOT_REFUNDABLE",
            f"payment {payment.id} is {state} and cannot be refunded",
            metadata={"payment_id": payment.id},
        )
    if payment.refund_disabled:
        raise errors.FailedPrecondition(
            "PAYMENT_REFUND_DISABLED",
            f"payment {payment.id} was recorded with refunds disabled",
            metadata={"payment_id": payment.id},
        )

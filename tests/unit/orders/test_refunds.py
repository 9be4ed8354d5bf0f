"""AddRefund's rules: what may be refunded, and what a refund changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.orders.domain.balance import PaymentFacts
from services.orders.domain.enums import RestockType, TransactionStatus
from services.orders.domain.lines import LineFacts, restock_all
from services.orders.domain.refunds import RefundLine, RefundRequest, check_shape, plan_refund
from services.platform import errors

D = Decimal
PAYMENTS = {
    "card": PaymentFacts("card", D("30"), TransactionStatus.APPROVED),
    "gift": PaymentFacts("gift", D("10"), None),
    "pending": PaymentFacts("pending", D("5"), TransactionStatus.PENDING),
    "locked": PaymentFacts("locked", D("5"), TransactionStatus.APPROVED, refund_disabled=True),
    "voided": PaymentFacts("voided", D("5"), None, voided=True),
}
LINES = {"a": LineFacts("a", 3, 1, 0), "b": LineFacts("b", 1, 0, 1)}


def request(
    *transactions: tuple[str, str],
    items: tuple[RefundLine, ...] = (),
    restock: RestockType = RestockType.NO_ITEMS,
    restock_items: tuple[RefundLine, ...] = (),
) -> RefundRequest:
    return RefundRequest([(p, D(a)) for p, a in transactions], items, restock, restock_items)


def plan(wanted: RefundRequest, refunded: dict[str, Decimal] | None = None, count: int = 0):  # type: ignore[no-untyped-def]
    check_shape(wanted)
    return plan_refund(
        wanted,
        payments=PAYMENTS,
        refunded_by_payment=refunded or {},
        lines=LINES,
        refund_count=count,
    )


def test_a_refund_marks_payments_and_lines() -> None:
    result = plan(
        request(
            ("card", "10"),
            ("gift", "10"),
            items=(RefundLine("a", 2),),
            restock=RestockType.ALL_ITEMS,
        ),
        refunded={"card": D("5")},
    )
    assert result.payment_statuses == {"card": TransactionStatus.PARTIALLY_REFUNDED}  # gift: none
    assert result.refund_quantities == {"a": 2}
    assert result.restock_quantities == {"a": 2}
    assert result.amount == D("20")
    full = plan(request(("card", "30")))
    assert full.payment_statuses == {"card": TransactionStatus.REFUNDED}


@pytest.mark.parametrize(
    ("wanted", "refunded", "reason"),
    [
        (request(("card", "25.01")), {"card": D("5")}, "REFUND_EXCEEDS_PAID"),
        (request(("pending", "1")), {}, "PAYMENT_NOT_REFUNDABLE"),
        (request(("voided", "1")), {}, "PAYMENT_NOT_REFUNDABLE"),
        (request(("locked", "1")), {}, "PAYMENT_REFUND_DISABLED"),
        (request(("card", "1"), items=(RefundLine("a", 3),)), {}, "REFUND_QUANTITY_EXCEEDED"),
        (
            request(
                ("card", "1"), restock=RestockType.SOME_ITEMS, restock_items=(RefundLine("b", 1),)
            ),
            {},
            "RESTOCK_QUANTITY_EXCEEDED",
        ),
    ],
)
def test_refusals(wanted: RefundRequest, refunded: dict[str, Decimal], reason: str) -> None:
    with pytest.raises(errors.FailedPrecondition) as failure:
        plan(wanted, refunded)
    assert failure.value.reason == reason


def test_refund_exceeding_reports_what_is_left() -> None:
    with pytest.raises(errors.FailedPrecondition) as failure:
        plan(request(("card", "26")), {"card": D("5")})
    assert failure.value.metadata == {"payment_id": "card", "refundable_amount": "25"}


def test_unknown_payments_and_lines_are_not_found() -> None:
    with pytest.raises(errors.NotFound) as failure:
        plan(request(("nope", "1")))
    assert failure.value.reason == "PAYMENT_NOT_FOUND"
    with pytest.raises(errors.NotFound) as failure:
        plan(request(("card", "1"), items=(RefundLine("zz", 1),)))
    assert failure.value.reason == "LINE_ITEM_NOT_FOUND"


def test_at_most_500_refunds() -> None:
    with pytest.raises(errors.FailedPrecondition) as failure:
        plan(request(("card", "1")), count=500)
    assert failure.value.reason == "TRANSACTION_LIMIT_EXCEEDED"


def test_shape_violations() -> None:
    with pytest.raises(errors.InvalidArgument) as failure:
        check_shape(
            request(
                ("card", "1"),
                ("card", "1"),
                ("", "1"),
                items=(RefundLine("a", 0), RefundLine("a", 1)),
                restock=RestockType.NO_ITEMS,
                restock_items=(RefundLine("b", 1),),
            )
        )
    fields = {v.field for v in failure.value.violations}
    assert fields == {
        "refund.transactions[1].payment_id",
        "refund.transactions[2].payment_id",
        "refund.details.items[0].quantity",
        "refund.details.items[1].line_item_id",
        "side_effects.restock_info.items",
    }
    with pytest.raises(errors.InvalidArgument):
        check_shape(request())
    with pytest.raises(errors.InvalidArgument):
        check_shape(request(("card", "1"), restock=RestockType.ALL_ITEMS))
    with pytest.raises(errors.InvalidArgument):
        check_shape(request(("card", "1"), restock=RestockType.SOME_ITEMS))


def test_restock_all_takes_what_was_not_restocked_before() -> None:
    assert restock_all(LINES.values()) == {"a": 3}

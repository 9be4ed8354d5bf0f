"""The payment rules: BalanceSummary and PaymentStatus derivation, status changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.orders.domain.balance import PaymentFacts, payment_status, summarize
from services.orders.domain.enums import PaymentStatus, TransactionStatus
from services.orders.domain.payments import (
    change_gift_card_status,
    change_regular_status,
    check_payment_room,
    requested_status,
)
from services.platform import errors

D = Decimal
T = TransactionStatus


def regular(amount: str, status: TransactionStatus) -> PaymentFacts:
    return PaymentFacts("p", D(amount), status)


def gift(amount: str, voided: bool = False) -> PaymentFacts:
    return PaymentFacts("g", D(amount), None, voided=voided)


@pytest.mark.parametrize(
    ("total", "payments", "refunds", "expected"),
    [
        ("30", [], [], PaymentStatus.NOT_PAID),
        ("0", [], [], PaymentStatus.PAID),
        ("30", [regular("30", T.PENDING)], [], PaymentStatus.PENDING),
        ("30", [regular("30", T.AUTHORIZED)], [], PaymentStatus.PENDING),
        ("30", [regular("30", T.DECLINED), regular("1", T.CANCELED)], [], PaymentStatus.NOT_PAID),
        (
            "30",
            [regular("10", T.APPROVED), regular("30", T.PENDING)],
            [],
            PaymentStatus.PARTIALLY_PAID,
        ),
        ("30", [regular("10", T.APPROVED), gift("20")], [], PaymentStatus.PAID),
        (
            "30",
            [regular("10", T.APPROVED), gift("20", voided=True)],
            [],
            PaymentStatus.PARTIALLY_PAID,
        ),
        ("30", [regular("50", T.APPROVED)], [], PaymentStatus.PAID),
        ("30", [regular("30", T.PARTIALLY_REFUNDED)], ["5"], PaymentStatus.PARTIALLY_REFUNDED),
        ("30", [regular("30", T.REFUNDED)], ["30"], PaymentStatus.FULLY_REFUNDED),
        ("30", [regular("10", T.REFUNDED)], ["10"], PaymentStatus.FULLY_REFUNDED),
        ("30", [regular("10", T.VOIDED)], [], PaymentStatus.NOT_PAID),
    ],
)
def test_payment_status_rules(
    total: str, payments: list[PaymentFacts], refunds: list[str], expected: PaymentStatus
) -> None:
    balance = summarize(D(total), payments, [D(r) for r in refunds])
    assert payment_status(balance, D(total)) is expected


def test_balance_summary_parts() -> None:
    balance = summarize(
        D("100"),
        [
            regular("10.10", T.APPROVED),
            regular("5", T.AUTHORIZED),
            regular("7", T.PENDING),
            regular("3", T.REFUNDED),
            gift("2.5"),
        ],
        [D("3"), D("0.5")],
    )
    assert (balance.paid, balance.authorized, balance.pending, balance.refunded) == (
        D("15.60"),
        D("5"),
        D("12"),
        D("3.5"),
    )
    assert balance.balance == D("84.40")


def test_sums_stay_exact_beyond_28_digits() -> None:
    big = "123456789012345678.0000000000000000000000000001"
    balance = summarize(D("0"), [regular(big, T.APPROVED)] * 2, [])
    assert balance.paid == D("246913578024691356.0000000000000000000000000002")


def test_allowed_status_changes() -> None:
    assert change_regular_status(T.PENDING, T.APPROVED).changed
    assert change_regular_status(T.AUTHORIZED, T.VOIDED).changed
    assert not change_regular_status(T.APPROVED, T.APPROVED).changed
    for current, wanted in [
        (T.APPROVED, T.PENDING),
        (T.DECLINED, T.APPROVED),
        (T.VOIDED, T.APPROVED),
    ]:
        with pytest.raises(errors.FailedPrecondition) as failure:
            change_regular_status(current, wanted)
        assert failure.value.reason == "INVALID_PAYMENT_STATUS_TRANSITION"
        assert failure.value.metadata == {"current_status": f"TRANSACTION_STATUS_{current.name}"}
    assert change_gift_card_status(False, T.VOIDED, "status").changed
    assert not change_gift_card_status(True, T.VOIDED, "status").changed
    with pytest.raises(errors.InvalidArgument):
        change_gift_card_status(False, T.APPROVED, "status")


def test_requested_status_refuses_what_only_the_suite_sets() -> None:
    assert requested_status(1, "s") is T.APPROVED
    for value in (0, 5, 6, 99):
        with pytest.raises(errors.InvalidArgument):
            requested_status(value, "s")


def test_at_most_500_payments() -> None:
    check_payment_room(450, 50)
    with pytest.raises(errors.FailedPrecondition) as failure:
        check_payment_room(451, 50)
    assert failure.value.reason == "TRANSACTION_LIMIT_EXCEEDED"

"""Lifecycle, tags, search tokens, amount keys and aggregation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.domain import lifecycle
from services.orders.domain.aggregation import (
    MAX_BUCKETS,
    AggregationRow,
    Aggregator,
    TooManyBuckets,
    show_sum,
    time_zone,
)
from services.orders.domain.enums import (
    ActivityType,
    ApprovalStrategy,
    FulfillmentStatus,
    GroupBy,
    OrderStatus,
    PaymentOption,
    PaymentStatus,
    SortField,
)
from services.orders.domain.search import (
    OrderFilter,
    SortKey,
    amount_key,
    check_sorts,
    decode_token,
    encode_token,
    fingerprint,
    page_size,
)
from services.orders.domain.tags import TagChange, clean
from services.platform import errors

D = Decimal


def test_status_at_creation() -> None:
    online = [PaymentOption.FULL_PAYMENT_ONLINE]
    offline = [PaymentOption.FULL_PAYMENT_OFFLINE, PaymentOption.MEMBERSHIP]
    default, strict = ApprovalStrategy.DEFAULT, ApprovalStrategy.PAYMENT_RECEIVED
    assert lifecycle.initial_status(default, D("10"), online) is OrderStatus.INITIALIZED
    assert lifecycle.initial_status(default, D("10"), offline) is OrderStatus.APPROVED
    assert (
        lifecycle.initial_status(default, D("10"), [*offline, *online]) is OrderStatus.INITIALIZED
    )
    assert lifecycle.initial_status(strict, D("10"), offline) is OrderStatus.INITIALIZED
    assert lifecycle.initial_status(strict, D("0"), online) is OrderStatus.APPROVED


def test_approval_and_cancellation() -> None:
    assert lifecycle.approves(OrderStatus.INITIALIZED)
    assert not lifecycle.approves(OrderStatus.APPROVED)
    with pytest.raises(errors.FailedPrecondition):
        lifecycle.approves(OrderStatus.CANCELED)
    with pytest.raises(errors.FailedPrecondition) as failure:
        lifecycle.check_cancelable(OrderStatus.CANCELED)
    assert failure.value.reason == "ORDER_ALREADY_CANCELED"
    assert lifecycle.approved_by_payment(OrderStatus.INITIALIZED, PaymentStatus.PAID)
    assert not lifecycle.approved_by_payment(OrderStatus.CANCELED, PaymentStatus.PAID)
    assert not lifecycle.approved_by_payment(OrderStatus.INITIALIZED, PaymentStatus.PARTIALLY_PAID)


def test_activities_of_status_changes() -> None:
    assert (
        lifecycle.payment_activity(PaymentStatus.PAID, refund_recorded=False)
        is ActivityType.ORDER_PAID
    )
    refunded = PaymentStatus.PARTIALLY_REFUNDED
    assert (
        lifecycle.payment_activity(refunded, refund_recorded=False) is ActivityType.ORDER_REFUNDED
    )
    assert lifecycle.payment_activity(refunded, refund_recorded=True) is None
    assert lifecycle.payment_activity(PaymentStatus.PENDING, refund_recorded=False) is None
    full, partial, none = (
        FulfillmentStatus.FULFILLED,
        FulfillmentStatus.PARTIALLY_FULFILLED,
        FulfillmentStatus.NOT_FULFILLED,
    )
    assert lifecycle.fulfillment_activity(partial, full) is ActivityType.ORDER_FULFILLED
    assert lifecycle.fulfillment_activity(partial, none) is ActivityType.ORDER_NOT_FULFILLED
    assert lifecycle.fulfillment_activity(none, partial) is None
    assert lifecycle.tracking_activities({"a": "1", "b": ""}, {"a": "2", "b": "3", "c": ""}) == [
        ActivityType.TRACKING_NUMBER_EDITED,
        ActivityType.TRACKING_NUMBER_ADDED,
    ]
    assert lifecycle.tracking_activities({"a": "1"}, {"a": "1"}) == []


def test_tags() -> None:
    problems = errors.Violations()
    assert clean([" a ", "a", "b", "", "x" * 101], "tags", problems) == ("a", "b")
    assert bool(problems)
    change = TagChange(assign=("c", "a"), unassign=("b",))
    assert change.apply(("a", "b")) == ("a", "c")
    with pytest.raises(errors.FailedPrecondition):
        TagChange(assign=tuple(f"t{i}" for i in range(101)), unassign=()).apply(())


def test_tokens_round_trip_and_are_bound_to_their_query() -> None:
    sort = (
        SortKey(SortField.CREATED_DATE, True),
        SortKey(SortField.NUMBER),
        SortKey(SortField.TOTAL),
    )
    key = fingerprint(OrderFilter(ids=("a",)), sort)
    values = (
        datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        10042,
        amount_key(D("1.5")),
        "id-1",
    )
    token = encode_token(values, key)
    assert decode_token(token, key, sort) == values
    other = fingerprint(OrderFilter(ids=("b",)), sort)
    for bad_key, bad_token in ((other, token), (key, "x"), (key, token[:-3])):
        with pytest.raises(errors.InvalidArgument):
            decode_token(bad_token, bad_key, sort)
    assert fingerprint(OrderFilter(owner="m-1"), sort) != fingerprint(OrderFilter(), sort)


def test_sorts_and_page_sizes() -> None:
    assert check_sorts([]) == (SortKey(SortField.CREATED_DATE, True),)
    with pytest.raises(errors.InvalidArgument):
        check_sorts([SortKey(SortField.NUMBER), SortKey(SortField.NUMBER, True)])
    assert (page_size(0), page_size(7), page_size(1000)) == (50, 7, 100)
    with pytest.raises(errors.InvalidArgument):
        page_size(-1)


amounts = st.decimals(min_value=0, max_value=D("999999999999999999"), places=4, allow_nan=False)


@given(amounts, amounts)
def test_amount_keys_sort_as_the_amounts(a: Decimal, b: Decimal) -> None:
    assert (amount_key(a) < amount_key(b)) == (a < b)
    assert (amount_key(a) == amount_key(b)) == (a == b)


def row(status: int, currency: str, total: str, created: datetime | None = None) -> AggregationRow:
    return AggregationRow(
        status=status,
        payment_status=1,
        fulfillment_status=1,
        created=created or datetime(2025, 3, 1, 23, 30, tzinfo=UTC),
        currency=currency,
        amounts=("", "", "", "", "", total, "", ""),
    )


def test_aggregation_buckets() -> None:
    aggregator = Aggregator(GroupBy.STATUS, time_zone(""))
    for item in (
        row(3, "USD", "0.10"),
        row(2, "USD", "0.20"),
        row(2, "EUR", "1"),
        row(2, "USD", "0.005"),
    ):
        aggregator.add(item)
    buckets = aggregator.buckets()
    assert [(b.key, b.currency, b.order_count) for b in buckets] == [
        (2, "EUR", 1),
        (2, "USD", 2),
        (3, "USD", 1),
    ]
    assert show_sum(buckets[1].sums[5]) == "0.205"
    assert show_sum(buckets[1].sums[0]) == "0"

    by_day = Aggregator(GroupBy.DAY, time_zone("Europe/Berlin"))
    by_day.add(row(2, "USD", "1"))  # 23:30 UTC is the next day in Berlin
    assert by_day.buckets()[0].key == date(2025, 3, 2)
    with pytest.raises(errors.InvalidArgument):
        time_zone("Nowhere/Special")


def test_too_many_buckets_is_an_invalid_argument_with_a_reason() -> None:
    aggregator = Aggregator(GroupBy.NONE, time_zone("UTC"))
    for index in range(MAX_BUCKETS):
        aggregator.add(row(2, f"C{index:04d}", "1"))
    with pytest.raises(TooManyBuckets) as failure:
        aggregator.add(row(2, "ZZZ", "1"))
    assert isinstance(failure.value, errors.InvalidArgument)
    assert failure.value.reason == "TOO_MANY_BUCKETS"

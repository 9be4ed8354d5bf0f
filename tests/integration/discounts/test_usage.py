"""Reserving, releasing and recording uses (the order-placement saga's discount steps), and how
held and counted uses show in evaluations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.discounts.v1 import discount_rule_pb2
from services.platform.identity import Role
from tests.integration.discounts.cases import FUTURE_START, PAST_END, PAST_START, coupon, rule
from tests.integration.discounts.cases import specific as percent_spec
from tests.integration.discounts.kit import (
    Served,
    applied_request,
    coupon_from,
    cpb,
    details,
    line,
    payload,
    pb,
    rule_from,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

CART = [line("l1", "shirt", "20.00")]
LIMIT_MASK = field_mask_pb2.FieldMask(paths=["settings.usage_limit"])


def _limited(name: str, limit: int) -> discount_rule_pb2.DiscountRule:
    spec = rule(name, percent_spec("PERCENTAGE", "10"))
    spec["settings"] = {"usageLimit": limit}
    return rule_from(spec)


async def _reserve(
    served: Served,
    site: str,
    reservation_id: str,
    rule_ids: Sequence[str] = (),
    code: str = "",
) -> pb.ReserveDiscountUsageResponse:
    response: pb.ReserveDiscountUsageResponse = await served.rules.ReserveDiscountUsage(
        pb.ReserveDiscountUsageRequest(
            reservation_id=reservation_id, discount_rule_ids=list(rule_ids), coupon_code=code
        ),
        metadata=served.service(site),
    )
    return response


async def _refused(call: Any) -> tuple[grpc.StatusCode, str, dict[str, str], dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return (caught.value.code(), *details(caught.value))


async def _applied(served: Served, site: str, **fields: Any) -> pb.GetAppliedDiscountsResponse:
    response: pb.GetAppliedDiscountsResponse = await served.rules.GetAppliedDiscounts(
        applied_request(CART, **fields), metadata=served.service(site)
    )
    return response


async def test_a_held_use_counts_for_everyone_else(served: Served, site: str) -> None:
    await served.create_coupon(site, coupon_from(coupon("ONCE", percentOffRate="10", usageLimit=1)))
    held = await _reserve(served, site, "checkout-a", code="once")
    assert held.reservation.coupon_code == "ONCE" and held.reservation.coupon_id
    assert held.reservation.HasField("expiration_date")

    code, reason, metadata, _ = await _refused(_reserve(served, site, "checkout-b", code="ONCE"))
    assert (code, reason, metadata) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "COUPON_USAGE_EXHAUSTED",
        {"coupon_code": "ONCE"},
    )
    # Other carts see the coupon used up; the holder's own checkout does not.
    assert (await _applied(served, site, coupon_code="ONCE")).coupon_calculation_error.code == (
        "COUPON_USAGE_EXHAUSTED"
    )
    own = await _applied(served, site, coupon_code="ONCE", reservation_id="checkout-a")
    assert not own.HasField("coupon_calculation_error")
    assert own.total_discount.amount == "2.00"

    released = await served.rules.ReleaseDiscountUsage(
        pb.ReleaseDiscountUsageRequest(reservation_id="checkout-a"), metadata=served.service(site)
    )
    assert released.released
    again = await served.rules.ReleaseDiscountUsage(
        pb.ReleaseDiscountUsageRequest(reservation_id="checkout-a"), metadata=served.service(site)
    )
    assert not again.released
    unknown = await served.rules.ReleaseDiscountUsage(
        pb.ReleaseDiscountUsageRequest(reservation_id="never"), metadata=served.service(site)
    )
    assert not unknown.released
    await _reserve(served, site, "checkout-b", code="ONCE")


async def test_a_rule_held_by_another_checkout_is_reported(served: Served, site: str) -> None:
    made = await served.create_rule(site, _limited("One left", 1))
    await _reserve(served, site, "checkout-a", [made.id])
    other = await _applied(served, site)
    assert [e.outcome for e in other.evaluated_discount_rules] == [
        pb.DiscountRuleEvaluation.OUTCOME_USAGE_LIMIT_RESERVED
    ]
    assert other.total_discount.amount == "0.00"
    own = await _applied(served, site, reservation_id="checkout-a")
    assert own.total_discount.amount == "2.00"
    code, reason, metadata, _ = await _refused(_reserve(served, site, "checkout-b", [made.id]))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DISCOUNT_RULE_USAGE_EXHAUSTED")
    assert metadata == {"discount_rule_ids": made.id}


async def test_reserving_again_renews_or_replaces(served: Served, site: str) -> None:
    first = await served.create_rule(site, _limited("First", 1))
    second = await served.create_rule(site, _limited("Second", 1))
    a = await _reserve(served, site, "checkout-a", [first.id])
    renewed = await _reserve(served, site, "checkout-a", [first.id])
    assert renewed.reservation.discount_rule_ids == [first.id]
    assert renewed.reservation.expiration_date.ToDatetime() >= (
        a.reservation.expiration_date.ToDatetime()
    )
    # Other content replaces the held uses: the first rule is free again.
    await _reserve(served, site, "checkout-a", [second.id])
    await _reserve(served, site, "checkout-b", [first.id])
    _code, reason, _, _ = await _refused(_reserve(served, site, "checkout-c", [second.id]))
    assert reason == "DISCOUNT_RULE_USAGE_EXHAUSTED"


async def test_recording_counts_once_per_order(served: Served, site: str) -> None:
    made = await served.create_rule(site, _limited("Two uses", 2))
    await served.create_coupon(site, coupon_from(coupon("TWICE", moneyOffAmount="1")))
    await _reserve(served, site, "checkout-a", [made.id], "twice")
    request = pb.RecordDiscountUsageRequest(
        order_id="order-1",
        reservation_id="checkout-a",
        discount_rule_ids=[made.id],
        coupon_code="TWICE",
    )
    first = await served.rules.RecordDiscountUsage(request, metadata=served.service(site))
    assert [
        (u.discount_rule_id, u.usage_count, u.usage_limit) for u in first.discount_rule_usages
    ] == [(made.id, 1, 2)]
    assert first.coupon_usage.number_of_usages == 1
    assert not first.coupon_usage.HasField("usage_limit")
    retried = await served.rules.RecordDiscountUsage(request, metadata=served.service(site))
    assert retried == first
    # The same order with other content is refused.
    request.coupon_code = ""
    code, reason, metadata, _ = await _refused(
        served.rules.RecordDiscountUsage(request, metadata=served.service(site))
    )
    assert (code, reason, metadata) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "USAGE_ALREADY_RECORDED",
        {"order_id": "order-1"},
    )
    # The reservation is spent: reserving or releasing it again changes nothing.
    code, reason, metadata, _ = await _refused(_reserve(served, site, "checkout-a", [made.id]))
    assert (code, reason, metadata) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "RESERVATION_ALREADY_RECORDED",
        {"order_id": "order-1"},
    )
    released = await served.rules.ReleaseDiscountUsage(
        pb.ReleaseDiscountUsageRequest(reservation_id="checkout-a"), metadata=served.service(site)
    )
    assert not released.released
    got = await served.rules.GetDiscountRule(
        pb.GetDiscountRuleRequest(discount_rule_id=made.id), metadata=served.admin(site)
    )
    assert got.discount_rule.usage_count == 1 and got.discount_rule.revision == 1


async def test_reaching_the_limit_expires_the_rule_until_raised(served: Served, site: str) -> None:
    made = await served.create_rule(site, _limited("Two uses", 2))
    for order in ("order-1", "order-2"):
        await served.rules.RecordDiscountUsage(
            pb.RecordDiscountUsageRequest(order_id=order, discount_rule_ids=[made.id]),
            metadata=served.service(site),
        )
    # Uses not held are counted even past the limit: the order exists already.
    over = await served.rules.RecordDiscountUsage(
        pb.RecordDiscountUsageRequest(order_id="order-3", discount_rule_ids=[made.id]),
        metadata=served.service(site),
    )
    assert over.discount_rule_usages[0].usage_count == 3
    got = await served.rules.GetDiscountRule(
        pb.GetDiscountRuleRequest(discount_rule_id=made.id), metadata=served.admin(site)
    )
    assert got.discount_rule.status == discount_rule_pb2.DISCOUNT_RULE_STATUS_EXPIRED
    assert list((await _applied(served, site)).evaluated_discount_rules) == []
    _code, reason, _, _ = await _refused(_reserve(served, site, "checkout-x", [made.id]))
    assert reason == "DISCOUNT_RULE_NOT_LIVE"

    raised = got.discount_rule
    raised.settings.usage_limit = 10
    updated = await served.rules.UpdateDiscountRule(
        pb.UpdateDiscountRuleRequest(
            discount_rule=raised,
            update_mask=LIMIT_MASK,
        ),
        metadata=served.admin(site),
    )
    assert updated.discount_rule.status == discount_rule_pb2.DISCOUNT_RULE_STATUS_LIVE
    assert (await _applied(served, site)).total_discount.amount == "2.00"
    # Lowering it to the count again emits the event a second time (it comes to reach it).
    lowered = updated.discount_rule
    lowered.settings.usage_limit = 3
    await served.rules.UpdateDiscountRule(
        pb.UpdateDiscountRuleRequest(
            discount_rule=lowered,
            update_mask=LIMIT_MASK,
        ),
        metadata=served.admin(site),
    )
    events = await served.events(site, made.id, 5)
    assert [e.type.rpartition(".")[2] for e in events] == [
        "discount_rule_created",
        "discount_rule_usage_limit_reached",
        "discount_rule_updated",
        "discount_rule_updated",
        "discount_rule_usage_limit_reached",
    ]
    assert [e.entity_sequence for e in events] == [1, 2, 3, 4, 5]
    reached = payload(events[1])
    assert reached.discount_rule.usage_count == 2  # type: ignore[attr-defined]
    assert reached.discount_rule.status == discount_rule_pb2.DISCOUNT_RULE_STATUS_EXPIRED  # type: ignore[attr-defined]


async def test_reservations_refuse_what_no_longer_applies(sqlite_only: Served, site: str) -> None:
    served = sqlite_only
    off = rule("Off", percent_spec("PERCENTAGE", "10"))
    off["active"] = False
    inactive = await served.create_rule(site, rule_from(off))
    live = await served.create_rule(site, rule_from(rule("Live", percent_spec("PERCENTAGE", "5"))))
    code, reason, metadata, _ = await _refused(
        _reserve(served, site, "c1", [live.id, inactive.id, "no-such-rule"])
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DISCOUNT_RULE_NOT_LIVE")
    assert sorted(metadata["discount_rule_ids"].split(",")) == sorted([inactive.id, "no-such-rule"])
    # Rules without a limit are checked but hold nothing.
    reserved = await _reserve(served, site, "c2", [live.id])
    assert reserved.reservation.discount_rule_ids == [live.id]

    await served.create_coupon(
        site, coupon_from(coupon("SLEEPY", percentOffRate="5", active=False))
    )
    await served.create_coupon(
        site, coupon_from(coupon("LATER", percentOffRate="5", startTime=FUTURE_START))
    )
    await served.create_coupon(
        site,
        coupon_from(
            coupon("GONE", percentOffRate="5", startTime=PAST_START, expirationTime=PAST_END)
        ),
    )
    for code_given, expected in (
        ("nope", "COUPON_NOT_FOUND"),
        ("sleepy", "COUPON_INACTIVE"),
        ("later", "COUPON_NOT_ACTIVE_YET"),
        ("gone", "COUPON_EXPIRED"),
    ):
        code, reason, metadata, _ = await _refused(_reserve(served, site, "c3", code=code_given))
        assert (code, reason, metadata) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            expected,
            {"coupon_code": code_given},
        )


async def test_a_deleted_coupon_gives_back_its_holds(sqlite_only: Served, site: str) -> None:
    served = sqlite_only
    made = await served.create_coupon(
        site, coupon_from(coupon("BYE", percentOffRate="5", usageLimit=1))
    )
    await _reserve(served, site, "c1", code="BYE")
    await served.coupons.DeleteCoupon(
        cpb.DeleteCouponRequest(coupon_id=made.id), metadata=served.admin(site)
    )
    # Same code again: a new coupon, whose use nobody holds.
    await served.create_coupon(site, coupon_from(coupon("BYE", percentOffRate="5", usageLimit=1)))
    await _reserve(served, site, "c2", code="BYE")
    # Recording the first checkout's order counts the coupon it was priced with only if it
    # still exists: it does not, so the new one with that code is counted.
    recorded = await served.rules.RecordDiscountUsage(
        pb.RecordDiscountUsageRequest(order_id="o1", reservation_id="c1", coupon_code="BYE"),
        metadata=served.service(site),
    )
    assert recorded.coupon_usage.coupon_id != made.id
    skipped = await served.rules.RecordDiscountUsage(
        pb.RecordDiscountUsageRequest(
            order_id="o2", discount_rule_ids=["deleted-rule"], coupon_code="none"
        ),
        metadata=served.service(site),
    )
    assert not skipped.discount_rule_usages and not skipped.HasField("coupon_usage")


async def test_usage_requests_are_checked(sqlite_only: Served, site: str) -> None:
    served = sqlite_only
    code, _, _, fields = await _refused(_reserve(served, site, ""))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {"reservation_id", "discount_rule_ids"}
    code, _, _, fields = await _refused(
        _reserve(served, site, "c1", [str(uuid.uuid4()) for _ in range(101)])
    )
    assert set(fields) == {"discount_rule_ids"}
    code, _, _, fields = await _refused(
        served.rules.RecordDiscountUsage(
            pb.RecordDiscountUsageRequest(), metadata=served.service(site)
        )
    )
    assert set(fields) == {"order_id"}
    code, _, _, fields = await _refused(
        served.rules.ReleaseDiscountUsage(
            pb.ReleaseDiscountUsageRequest(), metadata=served.service(site)
        )
    )
    assert set(fields) == {"reservation_id"}
    # Only the order-placement saga (service role) counts uses.
    code, _reason, _, _ = await _refused(
        served.rules.ReserveDiscountUsage(
            pb.ReserveDiscountUsageRequest(reservation_id="c1", coupon_code="X"),
            metadata=served.admin(site),
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    code, _, _, _ = await _refused(
        served.rules.GetAppliedDiscounts(
            applied_request(CART), metadata=served.token(site, Role.MEMBER, "m-1")
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED

"""Usage limits are exact under concurrency: 20 checkouts placing orders at once with a coupon (or
rule) that has 5 uses left get exactly 5 uses, on SQLite and PostgreSQL.

Each checkout runs the saga's discount steps on its own channel, truly concurrently: reserve (its
own reservation id), and when that succeeds, record the use for its new order."""

from __future__ import annotations

import uuid

import grpc
import pytest

from ecom.discounts.v1 import discount_rule_pb2, discount_rules_service_pb2_grpc
from tests.integration.discounts.cases import coupon, rule, specific
from tests.integration.discounts.kit import (
    Served,
    applied_request,
    coupon_from,
    cpb,
    details,
    gather_all,
    line,
    payload,
    pb,
    rule_from,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHECKOUTS = 20


async def _place(
    served: Served, site: str, channel: grpc.aio.Channel, *, rule_ids: list[str], code: str
) -> str:
    """Reserve then record for one new order; returns the order id."""
    stub = discount_rules_service_pb2_grpc.DiscountRulesServiceStub(channel)
    checkout_id, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    await stub.ReserveDiscountUsage(
        pb.ReserveDiscountUsageRequest(
            reservation_id=checkout_id, discount_rule_ids=rule_ids, coupon_code=code
        ),
        metadata=served.service(site),
    )
    await stub.RecordDiscountUsage(
        pb.RecordDiscountUsageRequest(
            order_id=order_id,
            reservation_id=checkout_id,
            discount_rule_ids=rule_ids,
            coupon_code=code,
        ),
        metadata=served.service(site),
    )
    return order_id


async def _record(served: Served, site: str, **fields: object) -> pb.RecordDiscountUsageResponse:
    response: pb.RecordDiscountUsageResponse = await served.rules.RecordDiscountUsage(
        pb.RecordDiscountUsageRequest(order_id=str(uuid.uuid4()), **fields),  # type: ignore[arg-type]
        metadata=served.service(site),
    )
    return response


async def test_twenty_orders_on_a_coupon_with_five_uses_left(served: Served, site: str) -> None:
    made = await served.create_coupon(
        site, coupon_from(coupon("LAST5", percentOffRate="10", usageLimit=8))
    )
    for _ in range(3):  # three orders already used it: 5 uses left
        await _record(served, site, coupon_code="last5")

    channels = [served.new_channel() for _ in range(CHECKOUTS)]
    results = await gather_all(
        *(_place(served, site, channel, rule_ids=[], code="Last5") for channel in channels)
    )

    placed = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(placed) == 5 and len(refused) == CHECKOUTS - 5
    for exc in refused:
        assert exc.code() is grpc.StatusCode.FAILED_PRECONDITION
        reason, metadata, _ = details(exc)
        assert reason == "COUPON_USAGE_EXHAUSTED"
        assert metadata == {"coupon_code": "Last5"}
    got = await served.coupons.GetCoupon(
        cpb.GetCouponRequest(coupon_id=made.id), metadata=served.admin(site)
    )
    assert got.coupon.number_of_usages == 8
    # A cart priced now is told the coupon is used up.
    priced = await served.rules.GetAppliedDiscounts(
        applied_request([line("l1", "shirt", "20.00")], coupon_code="LAST5"),
        metadata=served.service(site),
    )
    assert priced.coupon_calculation_error.code == "COUPON_USAGE_EXHAUSTED"


async def test_twenty_orders_on_a_rule_with_five_uses_left(served: Served, site: str) -> None:
    spec = rule("First five", specific("PERCENTAGE", "10"))
    spec["settings"] = {"usageLimit": 5}
    made = await served.create_rule(site, rule_from(spec))

    channels = [served.new_channel() for _ in range(CHECKOUTS)]
    results = await gather_all(
        *(_place(served, site, channel, rule_ids=[made.id], code="") for channel in channels)
    )

    placed = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(placed) == 5
    # Refused either while the five were only held, or after they were counted (then the rule
    # is EXPIRED, no longer live).
    assert {details(exc)[0] for exc in refused} <= {
        "DISCOUNT_RULE_USAGE_EXHAUSTED",
        "DISCOUNT_RULE_NOT_LIVE",
    }
    got = await served.rules.GetDiscountRule(
        pb.GetDiscountRuleRequest(discount_rule_id=made.id), metadata=served.admin(site)
    )
    assert got.discount_rule.usage_count == 5
    assert got.discount_rule.status == discount_rule_pb2.DISCOUNT_RULE_STATUS_EXPIRED
    events = await served.events(site, made.id, 2)
    kinds = [e.type.rpartition(".")[2] for e in events]
    assert kinds == ["discount_rule_created", "discount_rule_usage_limit_reached"]
    reached = payload(events[1])
    assert reached.discount_rule.usage_count == 5  # type: ignore[attr-defined]

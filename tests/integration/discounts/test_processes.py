"""Two processes (two servers, two runtimes) on one database: each keeps the site's rules and
coupons cached between evaluations, and a change made through one is seen by the next pricing
through the other, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.protobuf import field_mask_pb2

from tests.integration.discounts.cases import coupon, rule, specific
from tests.integration.discounts.kit import (
    Served,
    applied_request,
    coupon_from,
    cpb,
    line,
    pb,
    rule_from,
    serve,
    stop,
)

CART = [line("l1", "shirt", "20.00")]


@pytest.fixture
async def pair(
    tmp_path: Path, database_environ: dict[str, str]
) -> AsyncIterator[tuple[Served, Served]]:
    first = await serve(tmp_path, database_environ)
    second = await serve(tmp_path, database_environ)
    try:
        yield first, second
    finally:
        await stop(first)
        await stop(second)


async def _total(served: Served, site: str, **fields: object) -> pb.GetAppliedDiscountsResponse:
    response: pb.GetAppliedDiscountsResponse = await served.rules.GetAppliedDiscounts(
        applied_request(CART, **fields),  # type: ignore[arg-type]
        metadata=served.service(site),
    )
    return response


async def test_changes_through_one_process_reach_the_other(
    pair: tuple[Served, Served], site: str
) -> None:
    writer, reader = pair
    assert (await _total(reader, site)).total_discount.amount == "0.00"  # cached: no rules

    spec = rule("10%", specific("PERCENTAGE", "10"))
    spec["settings"] = {"usageLimit": 1}
    made = await writer.create_rule(site, rule_from(spec))
    assert (await _total(reader, site)).total_discount.amount == "2.00"

    made.discounts.values[0].percentage = "25"
    await writer.rules.UpdateDiscountRule(
        pb.UpdateDiscountRuleRequest(
            discount_rule=made, update_mask=field_mask_pb2.FieldMask(paths=["discounts"])
        ),
        metadata=writer.admin(site),
    )
    assert (await _total(reader, site)).total_discount.amount == "5.00"

    # An unknown code is cached as unknown, until a coupon with that code appears.
    assert (await _total(reader, site, coupon_code="NEW")).coupon_calculation_error.code == (
        "COUPON_NOT_FOUND"
    )
    made_coupon = await writer.create_coupon(site, coupon_from(coupon("NEW", moneyOffAmount="1")))
    assert (await _total(reader, site, coupon_code="new")).total_discount.amount == "6.00"

    # A reservation through one process is seen by the other without any definition change.
    await writer.rules.ReserveDiscountUsage(
        pb.ReserveDiscountUsageRequest(reservation_id="c1", discount_rule_ids=[made.id]),
        metadata=writer.service(site),
    )
    held = await _total(reader, site)
    assert [e.outcome for e in held.evaluated_discount_rules] == [
        pb.DiscountRuleEvaluation.OUTCOME_USAGE_LIMIT_RESERVED
    ]
    # Recording the use reaches the limit: the rule is EXPIRED for the other process too.
    await writer.rules.RecordDiscountUsage(
        pb.RecordDiscountUsageRequest(
            order_id="o1", reservation_id="c1", discount_rule_ids=[made.id]
        ),
        metadata=writer.service(site),
    )
    assert list((await _total(reader, site)).evaluated_discount_rules) == []

    await writer.coupons.DeleteCoupon(
        cpb.DeleteCouponRequest(coupon_id=made_coupon.id), metadata=writer.admin(site)
    )
    gone = await _total(reader, site, coupon_code="NEW")
    assert gone.coupon_calculation_error.code == "COUPON_NOT_FOUND"

"""GetAppliedDiscounts' request checks, and evaluations that touch nothing."""

from __future__ import annotations

import grpc
import pytest

from tests.integration.discounts.cases import coupon, rule, specific
from tests.integration.discounts.kit import (
    Served,
    applied_request,
    coupon_from,
    details,
    line,
    pb,
    rule_from,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_malformed_requests_name_every_bad_field(sqlite_only: Served, site: str) -> None:
    duplicate = line("l1", "cap", "1.00")
    no_reference = pb.DiscountLineItem(id="l2", quantity=0, price="-1")
    scoped = line("l3", "cap", "1e2")
    for app in range(11):
        scoped.custom_scope_data.add(app_id=f"app-{app}")
    request = applied_request(
        [line("l1", "hat", "2.00"), duplicate, no_reference, scoped, pb.DiscountLineItem()],
        currency="usd",
        subtotal="-3",
        shipping_amount="abc",
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await sqlite_only.rules.GetAppliedDiscounts(request, metadata=sqlite_only.service(site))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert set(details(caught.value)[2]) == {
        "line_items[1].id",
        "line_items[2].catalog_reference.app_id",
        "line_items[2].catalog_reference.catalog_item_id",
        "line_items[2].quantity",
        "line_items[2].price",
        "line_items[3].price",
        "line_items[3].custom_scope_data",
        "line_items[4].id",
        "line_items[4].catalog_reference.app_id",
        "line_items[4].catalog_reference.catalog_item_id",
        "line_items[4].quantity",
        "line_items[4].price",
        "currency",
        "subtotal",
        "shipping_amount",
    }
    too_many = applied_request([line(f"l{i}", "cap", "1.00") for i in range(301)])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await sqlite_only.rules.GetAppliedDiscounts(too_many, metadata=sqlite_only.service(site))
    assert set(details(caught.value)[2]) == {"line_items"}


async def test_an_empty_cart_and_a_read_only_evaluation(sqlite_only: Served, site: str) -> None:
    served = sqlite_only
    await served.create_coupon(site, coupon_from(coupon("TEN", moneyOffAmount="10", usageLimit=1)))
    made = await served.create_rule(site, rule_from(rule("10%", specific("PERCENTAGE", "10"))))
    empty = await served.rules.GetAppliedDiscounts(
        applied_request([], coupon_code="TEN"), metadata=served.service(site)
    )
    assert empty.coupon_calculation_error.code == "COUPON_NOT_APPLICABLE"
    assert empty.total_discount.amount == "0.00" and list(empty.line_item_discounts) == []
    for _ in range(3):  # pricing counts nothing
        await served.rules.GetAppliedDiscounts(
            applied_request([line("l1", "cap", "5.00")], coupon_code="TEN"),
            metadata=served.service(site),
        )
    got = await served.rules.GetDiscountRule(
        pb.GetDiscountRuleRequest(discount_rule_id=made.id), metadata=served.admin(site)
    )
    assert got.discount_rule.usage_count == 0
    # The caller's subtotal drives unscoped subtotal triggers and the coupon's minimum.
    await served.create_coupon(
        site, coupon_from(coupon("MIN50", percentOffRate="10", minimumSubtotal="50"))
    )
    with_subtotal = await served.rules.GetAppliedDiscounts(
        applied_request([line("l1", "cap", "5.00")], coupon_code="min50", subtotal="60"),
        metadata=served.service(site),
    )
    assert not with_subtotal.HasField("coupon_calculation_error")

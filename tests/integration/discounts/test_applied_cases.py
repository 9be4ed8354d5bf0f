"""The table of hand-computed discount cases (cases.py) through GetAppliedDiscounts over real gRPC,
on SQLite and PostgreSQL. Each case runs on a fresh site: its settings, rules (created in order,
so the oldest is first) and coupons, then one evaluation as the cart's service token."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecom.discounts.v1 import discount_settings_pb2
from tests.integration.discounts.cases import BEST_PER_ITEM, CASES, Case
from tests.integration.discounts.kit import (
    Served,
    applied_request,
    coupon_from,
    line,
    pb,
    rule_from,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)


async def _evaluate(served: Served, site: str, case: Case) -> pb.GetAppliedDiscountsResponse:
    if case.stacking == BEST_PER_ITEM:
        await served.set_stacking(site, discount_settings_pb2.STACKING_POLICY_BEST_PER_ITEM)
    for spec in case.rules:
        await served.create_rule(site, rule_from(spec))
    for spec in case.coupons:
        await served.create_coupon(site, coupon_from(spec))
    request = applied_request(
        [line(f"line-{i}", it.item_id, it.price, it.quantity) for i, it in enumerate(case.lines)],
        currency=case.currency,
        shipping_amount=case.shipping_amount,
    )
    if case.coupon_code is not None:
        request.coupon_code = case.coupon_code
    response: pb.GetAppliedDiscountsResponse = await served.rules.GetAppliedDiscounts(
        request, metadata=served.service(site)
    )
    return response


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_case(served: Served, site: str, case: Case) -> None:
    response = await _evaluate(served, site, case)

    assert response.currency == case.currency
    assert response.total_discount.amount == case.total_discount
    by_line = {d.line_item_id: d for d in response.line_item_discounts}
    for i, item in enumerate(case.lines):
        got = by_line[f"line-{i}"]
        expected = case.line_discounts.get(item.item_id, "0")
        assert Decimal(got.total_discount.amount) == Decimal(expected), item.item_id
        assert sum(Decimal(p.amount.amount) for p in got.discounts) == Decimal(expected)
    applied = {}
    for discount in response.applied_discounts:
        if discount.HasField("discount_rule"):
            applied[discount.discount_rule.name.original] = discount.discount_rule.amount.amount
        else:
            applied[discount.coupon.code] = discount.coupon.amount.amount
    assert applied == dict(case.applied)
    assert response.coupon_calculation_error.code == case.coupon_error
    assert response.free_shipping is case.free_shipping
    assert response.shipping_discount.amount == case.shipping_discount
    outcomes = {
        e.name: pb.DiscountRuleEvaluation.Outcome.Name(e.outcome)
        for e in response.evaluated_discount_rules
    }
    for name, outcome in case.outcomes.items():
        assert outcomes[name] == outcome
    assert not response.HasField("discounts_calculation_error")
    # What the cart would show: subtotal - discount = total, as the cases state.
    assert Decimal(case.subtotal) - Decimal(response.total_discount.amount) == Decimal(case.total)

"""Custom triggers: asked of discount-triggers providers (a real provider server in the test),
only when they decide something, and counted as not met (with a calculation error, never a call
error) when a provider fails."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from ecom.common.v1 import buyer_pb2
from tests.integration.discounts.cases import all_of, any_of, quantity, rule, specific, subtotal
from tests.integration.discounts.kit import (
    DOWN_TRIGGERS,
    TRIGGERS,
    Served,
    applied_request,
    line,
    pb,
    rule_from,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

CART = [line("l1", "shirt", "20.00", 2), line("l2", "mug", "9.99")]


def custom(trigger_id: str = "vip", app_id: str = TRIGGERS) -> dict[str, Any]:
    return {"custom": {"id": trigger_id, "appId": app_id}}


async def _applied(served: Served, site: str, **fields: Any) -> pb.GetAppliedDiscountsResponse:
    response: pb.GetAppliedDiscountsResponse = await served.rules.GetAppliedDiscounts(
        applied_request(CART, **fields), metadata=served.service(site)
    )
    return response


def _outcomes(response: pb.GetAppliedDiscountsResponse) -> dict[str, str]:
    return {
        e.name: pb.DiscountRuleEvaluation.Outcome.Name(e.outcome)
        for e in response.evaluated_discount_rules
    }


async def test_a_custom_trigger_holds_when_its_provider_says_so(
    sqlite_only: Served, site: str
) -> None:
    served = sqlite_only
    made = await served.create_rule(
        site, rule_from(rule("VIP 10%", specific("PERCENTAGE", "10"), trigger=custom()))
    )
    buyer = buyer_pb2.BuyerInfo(email="vip@example.com", member_id="m-1")

    refused = await _applied(served, site, buyer_info=buyer)
    assert _outcomes(refused) == {"VIP 10%": "OUTCOME_TRIGGER_NOT_MET"}
    assert refused.total_discount.amount == "0.00"

    served.triggers.eligible[site] = {"vip"}
    granted = await _applied(served, site, buyer_info=buyer)
    assert _outcomes(granted) == {"VIP 10%": "OUTCOME_APPLIED"}
    assert granted.total_discount.amount == "5.00"

    asked = served.triggers.calls[site][-1]
    assert [(t.custom_trigger_id, t.identifier) for t in asked.triggers] == [("vip", f"{made.id}/")]
    assert [(li.id, li.quantity, li.price.amount) for li in asked.line_items] == [
        ("l1", 2, "20.00"),
        ("l2", 1, "9.99"),
    ]
    assert asked.line_items[0].catalog_reference.catalog_item_id == "shirt"
    assert asked.subtotal == "49.99" and asked.currency == "USD"
    assert asked.buyer_info.member_id == "m-1"


async def test_providers_are_asked_only_when_it_matters(sqlite_only: Served, site: str) -> None:
    served = sqlite_only
    served.triggers.eligible[site] = {"vip"}
    await served.create_rule(
        site,
        rule_from(
            rule(
                "Big VIP orders",
                specific("PERCENTAGE", "10"),
                trigger=all_of(subtotal("100"), custom()),
            )
        ),
    )
    await served.create_rule(
        site,
        rule_from(
            rule("Anyone", specific("PERCENTAGE", "5"), trigger=any_of(quantity(1), custom()))
        ),
    )
    response = await _applied(served, site)
    # The AND fails on its subtotal and the OR holds on its quantity: no question is left.
    assert _outcomes(response) == {
        "Big VIP orders": "OUTCOME_TRIGGER_NOT_MET",
        "Anyone": "OUTCOME_APPLIED",
    }
    assert site not in served.triggers.calls


async def test_a_failing_provider_is_data_not_an_error(sqlite_only: Served, site: str) -> None:
    served = sqlite_only
    served.triggers.failing.add(site)
    await served.create_rule(
        site, rule_from(rule("VIP", specific("PERCENTAGE", "10"), trigger=custom()))
    )
    await served.create_rule(
        site,
        rule_from(
            rule("Down", specific("PERCENTAGE", "10"), trigger=custom("happy-hour", DOWN_TRIGGERS))
        ),
    )
    await served.create_rule(
        site,
        rule_from(
            rule(
                "VIP or many", specific("FIXED_AMOUNT", "1"), trigger=any_of(custom(), quantity(3))
            )
        ),
    )
    await served.create_rule(site, rule_from(rule("Plain", specific("PERCENTAGE", "20", "mug"))))

    response = await _applied(served, site)

    assert _outcomes(response) == {
        "VIP": "OUTCOME_TRIGGER_PROVIDER_FAILED",
        "Down": "OUTCOME_TRIGGER_PROVIDER_FAILED",
        "VIP or many": "OUTCOME_APPLIED",  # 3 units: met without the provider
        "Plain": "OUTCOME_APPLIED",
    }
    # 1.00 off each of 3 units, and 20% of the mug (2.00 rounded from 1.998)
    assert response.total_discount.amount == "5.00"
    error = response.discounts_calculation_error
    assert error.code == "PROVIDER_UNAVAILABLE"
    assert error.app_id == DOWN_TRIGGERS  # the first failing app, by app id
    assert json_format.MessageToDict(error.data) == {"app_ids": [DOWN_TRIGGERS, TRIGGERS]}

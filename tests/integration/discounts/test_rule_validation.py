"""Bad discount rules are refused as the contract says: INVALID_ARGUMENT with a field violation
naming each problem (all of them at once), FAILED_PRECONDITION for an unregistered trigger
provider; nothing is stored."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from tests.integration.discounts.cases import items, quantity, rule, specific, subtotal
from tests.integration.discounts.kit import DOWN_TRIGGERS, TRIGGERS, Served, details, pb, rule_from

pytestmark = pytest.mark.asyncio(loop_scope="module")

P = "discount_rule."


async def _refused(served: Served, site: str, spec: dict[str, Any]) -> tuple[Any, ...]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.create_rule(site, rule_from(spec))
    return (caught.value.code(), *details(caught.value))


def _nested(depth: int) -> dict[str, Any]:
    """A trigger `depth` levels deep: ANDs around one quantity leaf."""
    node = quantity(1)
    for _ in range(depth - 1):
        node = {"allOf": {"triggers": [node]}}
    return node


async def _count_rules(served: Served, site: str) -> int:
    response = await served.rules.QueryDiscountRules(
        pb.QueryDiscountRulesRequest(), metadata=served.admin(site)
    )
    return len(response.discount_rules)


async def test_empty_name(sqlite_only: Served, site: str) -> None:
    code, _, _, fields = await _refused(sqlite_only, site, rule("", specific("PERCENTAGE", "10")))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {P + "name"}


async def test_percentage_over_100(sqlite_only: Served, site: str) -> None:
    code, _, _, fields = await _refused(
        sqlite_only, site, rule("Too much", specific("PERCENTAGE", "150"))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {P + "discounts.values[0].percentage"}
    assert "(0, 100]" in fields[P + "discounts.values[0].percentage"]


async def test_window_from_after_to(sqlite_only: Served, site: str) -> None:
    spec = rule(
        "Backwards",
        specific("PERCENTAGE", "10"),
        window=("2030-02-01T00:00:00Z", "2030-01-01T00:00:00Z"),
    )
    code, _, _, fields = await _refused(sqlite_only, site, spec)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {P + "active_time_info.end"}


async def test_subtotal_min_above_max(sqlite_only: Served, site: str) -> None:
    spec = rule("Backwards", specific("PERCENTAGE", "10"), trigger=subtotal("100", "50"))
    code, _, _, fields = await _refused(sqlite_only, site, spec)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {P + "trigger.subtotal_range.max"}


async def test_quantity_min_above_max(sqlite_only: Served, site: str) -> None:
    spec = rule("Backwards", specific("PERCENTAGE", "10"), trigger=quantity(5, 2))
    code, _, _, fields = await _refused(sqlite_only, site, spec)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {P + "trigger.item_quantity_range.max"}


async def test_six_nested_triggers(sqlite_only: Served, site: str) -> None:
    spec = rule("Deep", specific("PERCENTAGE", "10"), trigger=_nested(6))
    code, _, _, fields = await _refused(sqlite_only, site, spec)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    deepest = P + "trigger" + ".all_of.triggers[0]" * 5
    assert set(fields) == {deepest}
    assert "5 levels" in fields[deepest]


async def test_five_nested_triggers_are_fine(sqlite_only: Served, site: str) -> None:
    created = await sqlite_only.create_rule(
        site, rule_from(rule("Deep enough", specific("PERCENTAGE", "10"), trigger=_nested(5)))
    )
    assert created.trigger.trigger_type == created.trigger.TRIGGER_TYPE_AND


async def test_unknown_scope_app(sqlite_only: Served, site: str) -> None:
    discount = specific("PERCENTAGE", "10")
    discount["specificItemsInfo"]["scopes"][0]["catalogItem"]["catalogAppId"] = "no.such.app"
    code, _, _, fields = await _refused(sqlite_only, site, rule("Nowhere", discount))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    path = P + "discounts.values[0].specific_items_info.scopes[0].catalog_item.catalog_app_id"
    assert set(fields) == {path}
    assert "no.such.app" in fields[path]


async def test_every_problem_is_reported_at_once(sqlite_only: Served, site: str) -> None:
    spec = rule(
        "",
        specific("PERCENTAGE", "150"),
        # no specific_items_info, and a negative amount
        {
            "targetType": "TARGET_TYPE_SPECIFIC_ITEMS",
            "discountType": "DISCOUNT_TYPE_FIXED_AMOUNT",
            "fixedAmount": "-1",
        },
        trigger={"anyOf": {"triggers": []}},
        window=("2030-02-01T00:00:00Z", "2030-01-01T00:00:00Z"),
    )
    spec["settings"] = {"usageLimit": 0}
    spec["id"] = "chosen-by-me"
    code, _, _, fields = await _refused(sqlite_only, site, spec)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {
        P + "id",
        P + "name",
        P + "active_time_info.end",
        P + "trigger.any_of.triggers",
        P + "discounts.values[0].percentage",
        P + "discounts.values[1].specific_items_info",
        P + "discounts.values[1].fixed_amount",
        P + "settings.usage_limit",
    }
    assert await _count_rules(sqlite_only, site) == 0


async def test_shape_mismatches(sqlite_only: Served, site: str) -> None:
    bad_type = specific("PERCENTAGE", "10")
    bad_type["targetType"] = "TARGET_TYPE_BUY_X_GET_Y"
    bad_amount = specific("PERCENTAGE", "ten")
    bad_member = specific("FIXED_AMOUNT", "5")
    bad_member["discountType"] = "DISCOUNT_TYPE_FIXED_PRICE"
    no_scope_type = specific("PERCENTAGE", "10")
    del no_scope_type["specificItemsInfo"]["scopes"][0]["type"]
    spec = rule("Shapes", bad_type, bad_amount, bad_member, no_scope_type, trigger={})
    code, _, _, fields = await _refused(sqlite_only, site, spec)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {
        P + "trigger",
        P + "discounts.values[0].buy_x_get_y_info",
        P + "discounts.values[1].percentage",
        P + "discounts.values[2].fixed_price",
        P + "discounts.values[3].specific_items_info.scopes[0].type",
    }


async def test_tree_size_and_scope_limits(sqlite_only: Served, site: str) -> None:
    wide = {"anyOf": {"triggers": [{"anyOf": {"triggers": [quantity(1)] * 10}}] * 3}}
    many_scopes = specific("PERCENTAGE", "10")
    many_scopes["specificItemsInfo"]["scopes"] = items(*[f"item-{i}" for i in range(51)])
    code, _, _, fields = await _refused(sqlite_only, site, rule("Big", many_scopes, trigger=wide))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    # 10 children per AND/OR are allowed; 34 nodes in all are not, nor are 51 scopes.
    assert set(fields) == {P + "trigger", P + "discounts.values[0].specific_items_info.scopes"}
    assert "20" in fields[P + "trigger"]


async def test_custom_trigger_of_an_unregistered_provider(sqlite_only: Served, site: str) -> None:
    spec = rule(
        "VIP",
        specific("PERCENTAGE", "10"),
        trigger={"custom": {"id": "vip", "appId": "no.such.provider"}},
    )
    code, reason, metadata, _ = await _refused(sqlite_only, site, spec)
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert reason == "DISCOUNT_TRIGGER_PROVIDER_NOT_FOUND"
    assert metadata == {"app_id": "no.such.provider"}
    for app in (TRIGGERS, DOWN_TRIGGERS):  # registered ones are accepted
        spec["trigger"]["custom"]["appId"] = app
        await sqlite_only.create_rule(site, rule_from(spec))


async def test_buyers_may_not_manage_rules(sqlite_only: Served, site: str) -> None:
    from services.platform.identity import Role

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await sqlite_only.rules.CreateDiscountRule(
            pb.CreateDiscountRuleRequest(
                discount_rule=rule_from(rule("Mine", specific("PERCENTAGE", "10")))
            ),
            metadata=sqlite_only.token(site, Role.VISITOR, "v-1"),
        )
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED

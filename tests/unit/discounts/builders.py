"""Domain objects for the discounts unit tests, built tersely."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from services.discounts.domain.lines import Line
from services.discounts.domain.model import (
    AmountKind,
    AppliesTo,
    BuyXGetY,
    Coupon,
    CouponDefinition,
    CouponKind,
    Discount,
    QuantityRange,
    Rule,
    RuleDefinition,
    Scope,
    ScopeKind,
    SpecificItems,
    Trigger,
)

APP = "ecom.catalog"
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
ALWAYS = QuantityRange((), 0, 0)


def scope(item: str = "", app: str = APP) -> Scope:
    return Scope(f"s-{item or 'all'}", ScopeKind.CATALOG_ITEM, app, catalog_item_id=item)


def line(line_id: str, price: str, quantity: int = 1, item: str = "") -> Line:
    return Line(line_id, APP, item or line_id, quantity, Decimal(price))


def specific(kind: AmountKind, value: str, *item_ids: str) -> Discount:
    scopes = tuple(scope(i) for i in item_ids) or (scope(),)
    return Discount(SpecificItems(scopes), kind, Decimal(value))


def percent(value: str, *item_ids: str) -> Discount:
    return specific(AmountKind.PERCENTAGE, value, *item_ids)


def buy_get(
    buy: int, get: int, kind: AmountKind = AmountKind.PERCENTAGE, value: str = "100", limit: int = 0
) -> Discount:
    return Discount(BuyXGetY(buy, (scope(),), get, (scope(),), limit), kind, Decimal(value))


def rule(
    rule_id: str,
    *discounts: Discount,
    trigger: Trigger | None = ALWAYS,
    applies_to: AppliesTo = AppliesTo.ALL_ITEMS,
    usage_limit: int | None = None,
    usage_count: int = 0,
    **definition: object,
) -> Rule:
    fields: dict[str, object] = {
        "name": rule_id,
        "active": True,
        "start": None,
        "end": None,
        "trigger": trigger,
        "discounts": discounts,
        "applies_to": applies_to,
        "usage_limit": usage_limit,
        **definition,
    }
    return Rule(rule_id, RuleDefinition(**fields), 1, usage_count, NOW, NOW)  # type: ignore[arg-type]


def coupon(kind: CouponKind, value: str = "0", code: str = "C", **definition: object) -> Coupon:
    fields: dict[str, object] = {
        "code": code,
        "name": code,
        "scope": None,
        "kind": kind,
        "value": Decimal(value),
        **definition,
    }
    return Coupon(f"id-{code}", CouponDefinition(**fields), 1, 0, NOW, NOW)  # type: ignore[arg-type]

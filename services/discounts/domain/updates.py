"""Partial updates (AIP-134): which paths UpdateDiscountRule / UpdateCoupon accept, and the
definition that results from applying the named fields of an update onto the current one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from services.discounts.domain.model import CouponDefinition, RuleDefinition
from services.platform.errors import FieldViolation

RULE_PATHS = frozenset(
    {
        "name",
        "active",
        "active_time_info",
        "active_time_info.start",
        "active_time_info.end",
        "trigger",
        "discounts",
        "settings",
        "settings.applies_to",
        "settings.usage_limit",
    }
)
RULE_OUTPUT_ONLY = frozenset(
    {"id", "revision", "status", "usage_count", "created_date", "updated_date"}
)

COUPON_DISCOUNT_PATHS = frozenset(
    {"money_off_amount", "percent_off_rate", "free_shipping", "fixed_price_amount"}
)
COUPON_PATHS = COUPON_DISCOUNT_PATHS | {
    "code",
    "name",
    "scope",
    "minimum_subtotal",
    "start_time",
    "expiration_time",
    "usage_limit",
    "limited_to_one_item",
    "active",
}
COUPON_OUTPUT_ONLY = frozenset(
    {"id", "number_of_usages", "expired", "revision", "created_date", "updated_date"}
)


def mask_problems(
    paths: Iterable[str], allowed: frozenset[str], output_only: frozenset[str]
) -> list[FieldViolation]:
    problems = []
    for path in paths:
        if path in output_only or path.split(".")[0] in output_only:
            problems.append(FieldViolation("update_mask", f"{path!r} is output only"))
        elif path not in allowed:
            known = ", ".join(sorted(allowed))
            problems.append(FieldViolation("update_mask", f"{path!r} is unknown (paths: {known})"))
    return problems


def merge_rule(
    current: RuleDefinition, incoming: RuleDefinition, paths: frozenset[str]
) -> RuleDefinition:
    """`current` with the fields named in `paths` taken from `incoming` (unset there: cleared,
    which `incoming` already expresses: active False, no limit, no trigger...)."""
    changes: dict[str, object] = {}
    if "name" in paths:
        changes["name"] = incoming.name
    if "active" in paths:
        changes["active"] = incoming.active
    if "active_time_info" in paths or "active_time_info.start" in paths:
        changes["start"] = incoming.start
    if "active_time_info" in paths or "active_time_info.end" in paths:
        changes["end"] = incoming.end
    if "trigger" in paths:
        changes["trigger"] = incoming.trigger
    if "discounts" in paths:
        changes["discounts"] = incoming.discounts
    if "settings" in paths or "settings.applies_to" in paths:
        changes["applies_to"] = incoming.applies_to
    if "settings" in paths or "settings.usage_limit" in paths:
        changes["usage_limit"] = incoming.usage_limit
    return replace(current, **changes)  # type: ignore[arg-type]


def merge_coupon(
    current: CouponDefinition, incoming: CouponDefinition, paths: frozenset[str]
) -> CouponDefinition:
    changes: dict[str, object] = {}
    simple = {
        "code": "code",
        "name": "name",
        "scope": "scope",
        "minimum_subtotal": "minimum_subtotal",
        "start_time": "start",
        "expiration_time": "expiration",
        "usage_limit": "usage_limit",
        "limited_to_one_item": "limited_to_one_item",
        "active": "active",
    }
    for path, attribute in simple.items():
        if path in paths:
            changes[attribute] = getattr(incoming, attribute)
    if paths & COUPON_DISCOUNT_PATHS:
        changes["kind"] = incoming.kind
        changes["value"] = incoming.value
        changes["free_shipping_false"] = incoming.free_shipping_false
    return replace(current, **changes)  # type: ignore[arg-type]

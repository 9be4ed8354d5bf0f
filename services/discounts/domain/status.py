"""Where rules and coupons are in their life, derived from their window and counts at a time.

Nothing here is stored: a rule's status and a coupon's `expired` are computed on every read, so
they are always right for the moment of the read (discount_rule.proto, coupon.proto).
"""

from __future__ import annotations

import enum
from datetime import datetime

from services.discounts.domain.model import (
    Coupon,
    CouponDefinition,
    Rule,
    RuleDefinition,
    RuleStatus,
)


def rule_status(definition: RuleDefinition, usage_count: int, now: datetime) -> RuleStatus:
    """EXPIRED (window ended or usage limit reached) wins over PENDING (window not started)."""
    if definition.end is not None and definition.end <= now:
        return RuleStatus.EXPIRED
    if definition.usage_limit is not None and usage_count >= definition.usage_limit:
        return RuleStatus.EXPIRED
    if definition.start is not None and definition.start > now:
        return RuleStatus.PENDING
    return RuleStatus.LIVE


def applies_now(rule: Rule, now: datetime) -> bool:
    """Whether `GetAppliedDiscounts` considers the rule: active and LIVE."""
    definition = rule.definition
    return definition.active and rule_status(definition, rule.usage_count, now) is RuleStatus.LIVE


def limit_reached(usage_limit: int | None, used: int) -> bool:
    return usage_limit is not None and used >= usage_limit


def coupon_expired(definition: CouponDefinition, now: datetime) -> bool:
    return definition.expiration is not None and definition.expiration <= now


class CouponProblem(enum.Enum):
    """Why a coupon code cannot be used: the CalculationError codes, in the order they are
    checked (`GetAppliedDiscountsResponse.coupon_calculation_error`)."""

    NOT_FOUND = "COUPON_NOT_FOUND"
    INACTIVE = "COUPON_INACTIVE"
    NOT_ACTIVE_YET = "COUPON_NOT_ACTIVE_YET"
    EXPIRED = "COUPON_EXPIRED"
    USAGE_EXHAUSTED = "COUPON_USAGE_EXHAUSTED"
    MINIMUM_SUBTOTAL_NOT_MET = "COUPON_MINIMUM_SUBTOTAL_NOT_MET"
    NOT_APPLICABLE = "COUPON_NOT_APPLICABLE"

    @property
    def code(self) -> str:
        return self.value


def coupon_usable(
    coupon: Coupon | None, now: datetime, held_by_others: int
) -> CouponProblem | None:
    """The checks that do not depend on the cart (also those of ReserveDiscountUsage): the coupon
    exists, is switched on, its window contains `now`, and its counted uses plus the uses other
    reservations hold are below its limit."""
    if coupon is None:
        return CouponProblem.NOT_FOUND
    definition = coupon.definition
    if not definition.active:
        return CouponProblem.INACTIVE
    if definition.start is not None and definition.start > now:
        return CouponProblem.NOT_ACTIVE_YET
    if coupon_expired(definition, now):
        return CouponProblem.EXPIRED
    if limit_reached(definition.usage_limit, coupon.number_of_usages + held_by_others):
        return CouponProblem.USAGE_EXHAUSTED
    return None


def describe(problem: CouponProblem, code: str) -> str:
    """An English explanation for the cart to show."""
    texts = {
        CouponProblem.NOT_FOUND: f"coupon {code!r} does not exist",
        CouponProblem.INACTIVE: f"coupon {code!r} is switched off",
        CouponProblem.NOT_ACTIVE_YET: f"coupon {code!r} cannot be used yet",
        CouponProblem.EXPIRED: f"coupon {code!r} has expired",
        CouponProblem.USAGE_EXHAUSTED: f"coupon {code!r} has been used as often as it may be",
        CouponProblem.MINIMUM_SUBTOTAL_NOT_MET: (
            f"coupon {code!r} needs a higher subtotal before discounts"
        ),
        CouponProblem.NOT_APPLICABLE: f"coupon {code!r} applies to none of the items",
    }
    return texts[problem]

"""What an evaluation of discounts produces (the domain side of GetAppliedDiscountsResponse)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from services.discounts.domain.model import Coupon, Rule
from services.discounts.domain.status import CouponProblem


class SourceKind(enum.Enum):
    RULE = "rule"
    COUPON = "coupon"


@dataclass(frozen=True)
class Part:
    """The share of one rule or of the coupon in one line's discount (rounded, > 0)."""

    kind: SourceKind
    source_id: str
    amount: Decimal
    units: int


@dataclass(frozen=True)
class LineDiscount:
    line_id: str
    total: Decimal
    parts: tuple[Part, ...]


class Outcome(enum.IntEnum):
    """Numbers as in `DiscountRuleEvaluation.Outcome`."""

    APPLIED = 1
    TRIGGER_NOT_MET = 2
    NOTHING_TO_DISCOUNT = 3
    OUTDONE = 4
    USAGE_LIMIT_RESERVED = 5
    TRIGGER_PROVIDER_FAILED = 6


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    outcome: Outcome
    #: What the rule took off all lines (0 unless APPLIED).
    amount: Decimal
    #: The lines it discounted, in request order.
    line_ids: tuple[str, ...] = ()


class AppliedType(enum.IntEnum):
    """Numbers as in `ecom.common.v1.DiscountType`."""

    GLOBAL = 1
    SPECIFIC_ITEMS = 2
    SHIPPING = 3


@dataclass(frozen=True)
class CouponResult:
    coupon: Coupon
    #: Taken off the lines (plus the shipping discount for free shipping).
    amount: Decimal
    line_ids: tuple[str, ...]
    applied_type: AppliedType
    free_shipping: bool = False
    #: Free shipping only: `shipping_amount`, or 0 when the caller did not send it.
    shipping_discount: Decimal | None = None


@dataclass(frozen=True)
class CouponError:
    problem: CouponProblem
    description: str
    #: COUPON_MINIMUM_SUBTOTAL_NOT_MET only.
    minimum_subtotal: Decimal | None = None


@dataclass(frozen=True)
class Evaluation:
    lines: tuple[LineDiscount, ...]
    rules: tuple[RuleResult, ...]
    coupon: CouponResult | None
    coupon_error: CouponError | None
    #: Sum of every line part (rules and coupon); excludes shipping.
    total_discount: Decimal

"""The cart's one door to discount rules and coupons.

Rules and coupons belong to the discounts service (`ecom.discounts.v1.DiscountRulesService/
GetAppliedDiscounts`), which is not deployed yet. Everything the cart needs from it goes through
`Discounts.evaluate`, whose result is already in the pricing engine's terms (line discounts,
free shipping) plus what the cart shows (coupon and rule names, calculation errors). Today the
only implementation is `DiscountsNotDeployed`: no rules, and a coupon code is kept on the cart but
reported as COUPON_NOT_FOUND. When the discounts service lands, a gRPC implementation of this
protocol (call GetAppliedDiscounts over `runtime.peer_channel("discounts")`, translate its
`line_item_discounts` into `LineDiscount`s) replaces it in `services.cart.bind` and nothing else
changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ecom.common.v1 import calculation_pb2
from services.cart.domain import Buyer, CatalogRef
from services.pricing import LineDiscount, ShippingDiscount

COUPON_NOT_FOUND = "COUPON_NOT_FOUND"


@dataclass(frozen=True)
class DiscountLine:
    """What discounts depend on: one priced line of the cart."""

    id: str
    ref: CatalogRef
    quantity: int
    price: Decimal
    root_item_id: str = ""


@dataclass(frozen=True)
class AppliedCoupon:
    id: str
    code: str
    name: str


@dataclass(frozen=True)
class DiscountsResult:
    line_discounts: tuple[LineDiscount, ...] = ()
    shipping_discounts: tuple[ShippingDiscount, ...] = ()
    #: The coupon when it applies (its id is the DiscountSource id of its parts).
    coupon: AppliedCoupon | None = None
    #: Rule id -> name, for every rule that took something off.
    rules: Mapping[str, str] = field(default_factory=dict)
    coupon_error: calculation_pb2.CalculationError | None = None
    discounts_error: calculation_pb2.CalculationError | None = None


class Discounts(Protocol):
    async def evaluate(
        self,
        site: str,
        *,
        lines: Sequence[DiscountLine],
        coupon_code: str,
        currency: str,
        buyer: Buyer,
        shipping_amount: Decimal | None,
        remaining_s: float | None,
    ) -> DiscountsResult: ...


class DiscountsNotDeployed:
    """No discounts service: no automatic rules, and any coupon code is unknown."""

    async def evaluate(
        self,
        site: str,
        *,
        lines: Sequence[DiscountLine],
        coupon_code: str,
        currency: str,
        buyer: Buyer,
        shipping_amount: Decimal | None,
        remaining_s: float | None,
    ) -> DiscountsResult:
        if not coupon_code:
            return DiscountsResult()
        return DiscountsResult(
            coupon_error=calculation_pb2.CalculationError(
                code=COUPON_NOT_FOUND,
                description="coupons are not available: the discounts service is not deployed",
            )
        )

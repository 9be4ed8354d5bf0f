"""The checkout's one door to discount rules, coupons and gift cards.

Rules and coupons belong to the discounts service (`ecom.discounts.v1.DiscountRulesService/
GetAppliedDiscounts`), which is not deployed yet; gift cards have no provider in the suite at
all. Everything a calculation needs from them goes through `Discounts.evaluate`, whose result is
in the pricing engine's terms (line discounts, shipping discounts) plus what the checkout shows
(the coupon and rule entries, calculation errors). Today's implementation, `DiscountsNotDeployed`,
applies no rules and reports a coupon code as COUPON_NOT_FOUND, honestly saying why. When the
discounts service lands, a gRPC implementation (GetAppliedDiscounts over
`runtime.peer_channel("discounts")`, and Reserve/Release/RecordDiscountUsage around the
placement) replaces it in `services.checkout.bind`; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ecom.common.v1 import calculation_pb2
from services.pricing import LineDiscount, ShippingDiscount

COUPON_NOT_FOUND = "COUPON_NOT_FOUND"
GIFT_CARD_NOT_FOUND = "GIFT_CARD_NOT_FOUND"


@dataclass(frozen=True)
class DiscountLine:
    """What discounts depend on: one priced line."""

    id: str
    app_id: str
    catalog_item_id: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class AppliedCoupon:
    """The checkout's coupon: its id and name when the discounts service knows it."""

    code: str
    id: str = ""
    name: str = ""


@dataclass(frozen=True)
class RuleHit:
    id: str
    name: str


@dataclass
class DiscountsResult:
    line_discounts: list[LineDiscount] = field(default_factory=list)
    shipping_discounts: list[ShippingDiscount] = field(default_factory=list)
    coupon: AppliedCoupon | None = None
    rules: list[RuleHit] = field(default_factory=list)
    coupon_error: calculation_pb2.CalculationError | None = None
    discounts_error: calculation_pb2.CalculationError | None = None


@dataclass(frozen=True)
class GiftCardResult:
    """The gift card as its provider sees it: `balance` None when the card is unusable."""

    code: str
    id: str = ""
    app_id: str = ""
    external_id: str = ""
    balance: Decimal | None = None
    error: calculation_pb2.CalculationError | None = None


class Discounts(Protocol):
    async def evaluate(
        self,
        site: str,
        lines: Sequence[DiscountLine],
        *,
        coupon_code: str,
        subtotal: Decimal,
        remaining_s: float | None,
    ) -> DiscountsResult: ...

    async def gift_card(
        self, site: str, code: str, *, remaining_s: float | None
    ) -> GiftCardResult: ...


class DiscountsNotDeployed:
    """No discount rules; a coupon code is kept but cannot be applied; no gift card provider."""

    async def evaluate(
        self,
        site: str,
        lines: Sequence[DiscountLine],
        *,
        coupon_code: str,
        subtotal: Decimal,
        remaining_s: float | None,
    ) -> DiscountsResult:
        if not coupon_code:
            return DiscountsResult()
        return DiscountsResult(
            coupon=AppliedCoupon(code=coupon_code),
            coupon_error=calculation_pb2.CalculationError(
                code=COUPON_NOT_FOUND,
                description=(
                    f"coupon {coupon_code!r} cannot be applied: coupons are not available "
                    "because the discounts service is not deployed"
                ),
            ),
        )

    async def gift_card(self, site: str, code: str, *, remaining_s: float | None) -> GiftCardResult:
        return GiftCardResult(
            code=code,
            error=calculation_pb2.CalculationError(
                code=GIFT_CARD_NOT_FOUND,
                description=(
                    "the gift card cannot be used: no gift card provider is available to the suite"
                ),
            ),
        )


def obfuscate(code: str) -> str:
    """All but the last 4 characters replaced by "*" (separators kept): "****-****-1234"."""
    keep = 4
    visible_from = max(len(code) - keep, 0)
    return "".join(
        ch if index >= visible_from or ch in "- " else "*" for index, ch in enumerate(code)
    )

"""The checkout's door to discount rules, coupons and gift cards.

Rules and coupons come from the discounts service through its one client
(`services.discounts.client`, `DiscountRulesService/GetAppliedDiscounts`); the result is in the
pricing engine's terms (line discounts, free shipping) plus what the checkout shows and stores
(the applied coupon's id and code, the rules that applied, calculation errors). The calculation
passes the checkout id as `reservation_id`, so the uses the checkout's own placement holds
(`ReserveDiscountUsage`) never count against it. The discounts service being down, slow or wrong
is a `discounts_calculation_error` (and a coupon given meanwhile a `coupon_calculation_error`),
which CreateOrder refuses like any calculation error.

Gift cards have no provider in the suite at all: a gift card code is kept and reported as
GIFT_CARD_NOT_FOUND, honestly saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ecom.common.v1 import buyer_pb2, calculation_pb2
from services.discounts.client import (
    AppliedCoupon,
    DiscountLine,
    Discounts,
    DiscountsQuery,
    DiscountsResult,
)

__all__ = [
    "GIFT_CARD_NOT_FOUND",
    "AppliedCoupon",
    "CheckoutDiscounts",
    "DiscountLine",
    "Discounts",
    "DiscountsResult",
    "GiftCardResult",
    "obfuscate",
]

GIFT_CARD_NOT_FOUND = "GIFT_CARD_NOT_FOUND"


@dataclass(frozen=True)
class GiftCardResult:
    """The gift card as its provider sees it: `balance` None when the card is unusable."""

    code: str
    id: str = ""
    app_id: str = ""
    external_id: str = ""
    balance: Decimal | None = None
    error: calculation_pb2.CalculationError | None = None


class CheckoutDiscounts:
    """Discounts from the discounts service; no gift card provider."""

    def __init__(self, discounts: Discounts) -> None:
        self._discounts = discounts

    async def evaluate(
        self,
        site: str,
        checkout_id: str,
        lines: Sequence[DiscountLine],
        *,
        coupon_code: str,
        currency: str,
        buyer: buyer_pb2.BuyerInfo,
        subtotal: Decimal,
        remaining_s: float | None,
    ) -> DiscountsResult:
        query = DiscountsQuery(
            lines=lines,
            coupon_code=coupon_code,
            currency=currency,
            buyer=buyer,
            subtotal=subtotal,
            reservation_id=checkout_id,
        )
        return await self._discounts.evaluate(site, query, remaining_s=remaining_s)

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

"""The cart's door to discount rules and coupons: the discounts service's client
(`services.discounts.client`, `DiscountRulesService/GetAppliedDiscounts`) asked about a cart.

The result is in the pricing engine's terms (line discounts, free shipping) plus what the cart
shows (the coupon and rule names, calculation errors). The discounts service being down, slow or
wrong never fails a cart call: it is a `discounts_calculation_error` (and a coupon code given
meanwhile a `coupon_calculation_error`), and the cart is priced without discounts.
"""

from __future__ import annotations

from collections.abc import Sequence

from ecom.common.v1 import buyer_pb2
from services.cart.domain import Cart
from services.discounts.client import (
    AppliedCoupon,
    DiscountLine,
    Discounts,
    DiscountsClient,
    DiscountsQuery,
    DiscountsResult,
)

__all__ = [
    "AppliedCoupon",
    "DiscountLine",
    "Discounts",
    "DiscountsClient",
    "DiscountsResult",
    "buyer_info",
    "for_cart",
]


def buyer_info(cart: Cart) -> buyer_pb2.BuyerInfo:
    """The cart's buyer as providers and the discounts service see it."""
    buyer = buyer_pb2.BuyerInfo(contact_id=cart.contact_id, email=cart.email)
    setattr(buyer, f"{cart.buyer.kind.value}_id", cart.buyer.id)
    return buyer


async def for_cart(
    discounts: Discounts,
    cart: Cart,
    lines: Sequence[DiscountLine],
    *,
    remaining_s: float | None,
) -> DiscountsResult:
    """The discounts of `cart`'s priced `lines` and coupon code. Shipping is not sent: a
    free-shipping coupon takes all of whatever the selected option costs."""
    query = DiscountsQuery(
        lines=lines,
        coupon_code=cart.coupon_code,
        currency=cart.currency,
        buyer=buyer_info(cart),
    )
    return await discounts.evaluate(cart.site, query, remaining_s=remaining_s)

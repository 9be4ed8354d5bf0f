"""From a cart to the pricing engine's input: which lines are priced, at what, with which
discounts.

Only lines whose item the catalog knows (FOUND) are priced. Lines never read (their provider was
down when they were added) and lines the catalog no longer knows (NOT_FOUND) are left out of
every total, as the contract demands, and merchant discounts lose them too (the engine refuses
ids that are not in its input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from ecom.common.v1 import catalog_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from services.cart.discounts import DiscountLine, DiscountsResult
from services.cart.domain import Cart, CatalogStatus, Line
from services.platform.payment_options import payment_option
from services.pricing import (
    DiscountSource,
    DiscountSourceKind,
    FeeInput,
    LineInput,
    OrderDiscount,
    PricingInput,
    PricingResult,
    ShippingInput,
    TaxAddress,
    TaxTable,
    calculate,
    parse_amount,
)


@lru_cache(maxsize=4096)
def amount(text: str) -> Decimal:
    """A catalog amount (already checked when it was read) as a Decimal; a cart re-reads the
    same few prices on every call."""
    return parse_amount(text)


def catalog_data(line: Line) -> catalog_spi.CatalogItemData | None:
    """The line's last catalog data (also kept for NOT_FOUND lines, for display), or None."""
    if not line.catalog.data:
        return None
    return catalog_spi.CatalogItemData.FromString(line.catalog.data)


@dataclass(frozen=True)
class PricedLine:
    line: Line
    data: catalog_spi.CatalogItemData
    price: Decimal

    @property
    def shippable(self) -> bool:
        return self.data.physical_properties.shippable

    def pricing_input(self) -> LineInput:
        data = self.data
        deposit = amount(data.deposit_amount) if data.deposit_amount else None
        full = amount(data.full_price) if data.full_price else None
        gift_card = data.item_type.WhichOneof("kind") == "preset" and (
            data.item_type.preset == catalog_pb2.ITEM_TYPE_PRESET_GIFT_CARD
        )
        return LineInput(
            id=self.line.id,
            price=self.price,
            quantity=self.line.quantity,
            full_price=full,
            # Gift cards are a means of payment, not a taxable supply.
            taxable=not gift_card,
            tax_group=data.tax_group_id or None,
            payment_option=payment_option(data.payment_option),
            deposit_amount=deposit,
        )

    def discount_line(self) -> DiscountLine:
        return DiscountLine(
            id=self.line.id,
            app_id=self.line.ref.app_id,
            catalog_item_id=self.line.ref.item_id,
            quantity=self.line.quantity,
            price=self.price,
            root_item_id=self.data.root_catalog_item_id,
        )


def priced_lines(cart: Cart) -> list[PricedLine]:
    priced = []
    for line in cart.lines:
        if line.catalog.status is not CatalogStatus.FOUND:
            continue
        data = catalog_spi.CatalogItemData.FromString(line.catalog.data)
        priced.append(PricedLine(line, data, amount(data.price)))
    return priced


def merchant_source(index: int) -> DiscountSource:
    """Merchant discounts have no id: their position on the cart is their key."""
    return DiscountSource(DiscountSourceKind.MERCHANT_DISCOUNT, str(index))


def merchant_discounts(cart: Cart, priced_ids: set[str]) -> list[OrderDiscount]:
    discounts = []
    for index, discount in enumerate(cart.merchant_discounts):
        ids = [line_id for line_id in discount.line_ids if line_id in priced_ids]
        if discount.line_ids and not ids:
            continue  # every line it names is unpriced: it takes nothing off now
        discounts.append(OrderDiscount(merchant_source(index), discount.amount, tuple(ids)))
    return discounts


def pricing_input(
    cart: Cart,
    priced: Sequence[PricedLine],
    discounts: DiscountsResult,
    *,
    shipping_price: Decimal | None = None,
    fees: Sequence[FeeInput] = (),
    tax_address: TaxAddress | None = None,
    tax_table: TaxTable | None = None,
) -> PricingInput:
    priced_ids = {p.line.id for p in priced}
    shipping = None
    if shipping_price is not None:
        shipping = ShippingInput(shipping_price, tuple(discounts.shipping_discounts))
    return PricingInput(
        currency=cart.currency,
        lines=tuple(p.pricing_input() for p in priced),
        tax_included_in_prices=cart.tax_included_in_prices,
        line_discounts=tuple(d for d in discounts.line_discounts if d.line_id in priced_ids),
        order_discounts=tuple(merchant_discounts(cart, priced_ids)),
        shipping=shipping,
        fees=tuple(fees),
        tax_address=tax_address,
        tax_table=tax_table,
    )


def value_lines(
    cart: Cart, discounts: DiscountsResult, priced: Sequence[PricedLine] | None = None
) -> PricingResult:
    """The lines and their discounts alone (no shipping, fees or tax): what a cart shows.
    `priced` is `priced_lines(cart)` when the caller has it already."""
    if priced is None:
        priced = priced_lines(cart)
    return calculate(pricing_input(cart, priced, discounts))

"""What GetCatalogItems answers for one known reference: the product's (or variant's) data in the
caller's weight unit, with the units available now.

Variant fields fall back to the product's: price, SKU and weight when the variant leaves them
empty, and the compare-at price when the product's is at least the variant's price (a sale price
of the product must not turn into a "full price" below the variant's own price).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from services.pricing import to_wire
from services.providers.catalog.domain import ItemType, Media, PaymentOption, WeightUnit
from services.providers.catalog.references import Resolved

#: 1 lb in kg, exactly (international avoirdupois pound).
KG_PER_LB = Decimal("0.45359237")
#: Converted weights keep three decimals (grams, or thousandths of a pound).
_WEIGHT_STEP = Decimal("0.001")
#: `quantity_available` is an int32 on the wire.
MAX_INT32 = 2**31 - 1


@dataclass(frozen=True)
class ItemData:
    """`ecom.spi.catalog.v1.CatalogItemData` in plain Python."""

    product_name: str
    item_type: ItemType
    price: str
    full_price: str
    quantity_available: int | None
    url: str
    description_lines: tuple[tuple[str, str], ...]
    media: Media
    weight: str
    sku: str
    shippable: bool
    payment_option: PaymentOption
    tax_group_id: str
    root_catalog_item_id: str
    deposit_amount: str


def convert_weight(weight: Decimal, stored: WeightUnit, wanted: WeightUnit) -> Decimal:
    if stored is wanted:
        return weight
    converted = weight / KG_PER_LB if stored is WeightUnit.KG else weight * KG_PER_LB
    return converted.quantize(_WEIGHT_STEP, rounding=ROUND_HALF_EVEN)


def _decimal_text(value: Decimal) -> str:
    """Plain decimal text without needless zeros: "2.500" -> "2.5", "0E-3" -> "0"."""
    if value.is_zero():
        return "0"
    text = f"{value.normalize():f}"
    return text


def available(visible: bool, tracked: bool, quantity: int, held: int) -> int | None:
    """Units that can be bought now: None for unlimited stock, 0 for hidden products."""
    if not visible:
        return 0
    if not tracked:
        return None
    return max(0, min(quantity - held, MAX_INT32))


def item_data(
    resolved: Resolved, weight_unit: WeightUnit, quantity_available: int | None
) -> ItemData:
    product, variant = resolved.product, resolved.variant
    price = product.price
    compare_at = product.compare_at_price
    sku, weight = product.sku, product.weight
    lines: tuple[tuple[str, str], ...] = ()
    if variant is not None:
        if variant.price is not None:
            price = variant.price
        if variant.compare_at_price is not None:
            compare_at = variant.compare_at_price
        sku = variant.sku or sku
        weight = variant.weight if variant.weight is not None else weight
        lines = variant.options
    if compare_at is None or compare_at < price:
        compare_at = price
    currency = product.currency
    return ItemData(
        product_name=product.name,
        item_type=product.item_type,
        price=to_wire(price, currency, keep_precision=True),
        full_price=to_wire(compare_at, currency, keep_precision=True),
        quantity_available=quantity_available,
        url=product.url,
        description_lines=lines,
        media=product.media,
        weight=(
            ""
            if weight is None
            else _decimal_text(convert_weight(weight, product.weight_unit, weight_unit))
        ),
        sku=sku,
        shippable=product.shippable,
        payment_option=product.payment_option,
        tax_group_id=product.tax_group_id,
        root_catalog_item_id=product.id if variant is not None else "",
        deposit_amount=(
            ""
            if product.deposit_amount is None
            else to_wire(product.deposit_amount, currency, keep_precision=True)
        ),
    )

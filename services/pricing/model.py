"""What the engine takes and what it returns: plain, immutable dataclasses of Decimals.

They mirror the protos of `ecom.common.v1` (LineItemPricesData, PriceSummary, TaxDetails,
AppliedDiscount, AdditionalFee, SelectedCarrierServiceOptionPrices) without importing them: the
services translate between the two. Every output amount is rounded to the currency's minor unit
except the unit prices echoed from the input (`LineResult.price`, `full_price`,
`price_before_discounts`), which are returned exactly as given.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.pricing.tax import TaxAddress, TaxTable

#: Largest line quantity the engine accepts (the contract's limit).
MAX_QUANTITY = 100_000


class PaymentOption(enum.Enum):
    """How a line is paid for (`ecom.common.v1.PaymentOption` without its prefix)."""

    FULL_PAYMENT_ONLINE = "FULL_PAYMENT_ONLINE"
    FULL_PAYMENT_OFFLINE = "FULL_PAYMENT_OFFLINE"
    MEMBERSHIP = "MEMBERSHIP"
    DEPOSIT_ONLINE = "DEPOSIT_ONLINE"
    MEMBERSHIP_OFFLINE = "MEMBERSHIP_OFFLINE"


class DiscountSourceKind(enum.Enum):
    """Where a discount comes from (the `discount_source_type` of `AppliedDiscount`)."""

    COUPON = "COUPON"
    MERCHANT_DISCOUNT = "MERCHANT_DISCOUNT"
    DISCOUNT_RULE = "DISCOUNT_RULE"


class DiscountType(enum.Enum):
    """What a discount applies to (`ecom.common.v1.DiscountType` without its prefix)."""

    GLOBAL = "GLOBAL"
    SPECIFIC_ITEMS = "SPECIFIC_ITEMS"
    SHIPPING = "SHIPPING"


@dataclass(frozen=True)
class DiscountSource:
    """Identifies one discount: a coupon id, a rule id, or a merchant discount's key.

    Merchant discounts have no id in the protos; callers use any key unique within the cart
    (their index, say). The engine only groups and reports by it.
    """

    kind: DiscountSourceKind
    id: str


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class LineInput:
    """One line to price.

    `price` is the unit price after catalog sales and before cart discounts; it includes tax when
    `PricingInput.tax_included_in_prices` is true. It may have more decimals than the currency
    (a catalog price of "0.125" USD): the line total is computed exactly and rounded once.
    `full_price` and `price_before_discounts` are echoed (default: `price`). For
    `DEPOSIT_ONLINE` lines, `deposit_amount` is the part of one unit's price paid online
    (default: all of it; more than `price` counts as `price`).
    """

    id: str
    price: Decimal
    quantity: int
    full_price: Decimal | None = None
    price_before_discounts: Decimal | None = None
    taxable: bool = True
    tax_group: str | None = None
    payment_option: PaymentOption = PaymentOption.FULL_PAYMENT_ONLINE
    deposit_amount: Decimal | None = None


@dataclass(frozen=True)
class LineDiscount:
    """An amount one discount takes off one line, as the discounts service computed it.

    This is one `LineItemDiscountPart` of `GetAppliedDiscounts` (rules and coupons): the amount
    for all the line's units, as a positive amount. The engine rounds it to the minor unit and
    caps it at what is left of the line.
    """

    source: DiscountSource
    line_id: str
    amount: Decimal


@dataclass(frozen=True)
class OrderDiscount:
    """An amount the engine spreads over lines itself: a merchant discount or a GLOBAL discount.

    Empty `line_ids` means every line (DiscountType GLOBAL); otherwise only the named lines
    (SPECIFIC_ITEMS). The amount is spread in proportion to what is left of each line after the
    line discounts and earlier order discounts, by the largest remainder method, and capped at
    what is left in total.
    """

    source: DiscountSource
    amount: Decimal
    line_ids: Sequence[str] = ()


@dataclass(frozen=True)
class ShippingDiscount:
    """An amount taken off shipping. `amount` None means free shipping (all that is left)."""

    source: DiscountSource
    amount: Decimal | None = None


@dataclass(frozen=True)
class ShippingInput:
    """The selected shipping option's price (tax-included when prices include tax)."""

    price: Decimal
    discounts: Sequence[ShippingDiscount] = ()


@dataclass(frozen=True)
class FeeInput:
    """One additional fee. `price` is for the whole fee (not per unit) and before tax, also when
    the other prices include tax: the fees SPI has providers quote fees before tax and the suite
    adds the tax. `id` is the caller's key, unique in the input (e.g. "<app_id>/<code>").
    `line_ids` are echoed, not used. The fee is taxed when `taxable` and the tax table's
    `fees_taxable` are both true.
    """

    id: str
    price: Decimal
    taxable: bool = True
    tax_group: str | None = None
    line_ids: Sequence[str] = ()


@dataclass(frozen=True)
class PricingInput:
    """Everything `calculate` needs. No tax is computed without both `tax_address` and
    `tax_table` (EstimateTotals with `calculate_tax` false passes neither)."""

    currency: str
    lines: Sequence[LineInput] = ()
    tax_included_in_prices: bool = False
    line_discounts: Sequence[LineDiscount] = ()
    order_discounts: Sequence[OrderDiscount] = ()
    shipping: ShippingInput | None = None
    fees: Sequence[FeeInput] = ()
    tax_address: TaxAddress | None = None
    tax_table: TaxTable | None = None


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class TaxBreakdown:
    """One jurisdiction's share of an item's tax (`ecom.common.v1.TaxBreakdown`)."""

    tax_name: str
    jurisdiction: str
    rate: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class TaxDetails:
    """How an item's tax was computed (`ecom.common.v1.TaxDetails`).

    `taxable_amount` is the net (tax-excluded) amount the rate applies to, or 0 when the item is
    not taxed (not taxable, or no jurisdiction applies). `tax_rate` is the combined rate.
    """

    taxable_amount: Decimal
    tax_rate: Decimal
    total_tax: Decimal
    tax_breakdown: tuple[TaxBreakdown, ...] = ()


@dataclass(frozen=True)
class DiscountPart:
    """What one discount took off one line (or off shipping)."""

    source: DiscountSource
    amount: Decimal


@dataclass(frozen=True)
class LineResult:
    """One line's breakdown (`ecom.common.v1.LineItemPricesData` plus the discount parts).

    `line_item_price = price * quantity` rounded; `total_price_before_tax` and
    `total_price_after_tax` are after discounts. With tax-excluded prices
    `after_tax = before_tax + tax`; with tax-included prices `before_tax = after_tax - tax`;
    either way `after_tax = line_item_price - total_discount (+ tax when excluded)`.
    """

    line_id: str
    quantity: int
    price: Decimal
    full_price: Decimal
    price_before_discounts: Decimal
    line_item_price: Decimal
    total_discount: Decimal
    total_price_before_tax: Decimal
    total_price_after_tax: Decimal
    tax_details: TaxDetails
    discounts: tuple[DiscountPart, ...]
    payment_option: PaymentOption


@dataclass(frozen=True)
class ShippingResult:
    """The selected shipping option's cost (`SelectedCarrierServiceOptionPrices`)."""

    price: Decimal
    total_discount: Decimal
    total_price_before_tax: Decimal
    total_price_after_tax: Decimal
    tax_details: TaxDetails
    discounts: tuple[DiscountPart, ...]


@dataclass(frozen=True)
class FeeResult:
    """One additional fee with its tax (`ecom.common.v1.AdditionalFee`).

    `price` is the fee as charged, in the terms of the other prices: `price_before_tax` (the
    provider's price, rounded) when prices exclude tax, `price_after_tax` (that plus the fee's
    tax) when they include it.
    """

    id: str
    price: Decimal
    price_before_tax: Decimal
    price_after_tax: Decimal
    tax_details: TaxDetails
    line_ids: tuple[str, ...]


@dataclass(frozen=True)
class PriceSummary:
    """Totals (`ecom.common.v1.PriceSummary`); every field is a sum of rounded parts.

    Tax-excluded prices: `total = subtotal - discount + shipping + additional_fees + tax`.
    Tax-included prices: `total = subtotal - discount + shipping + additional_fees`, and `tax` is
    the part of it that is tax. `discount` is the line discounts only: `shipping` is already
    after shipping discounts. `shipping` and `additional_fees` are as charged (gross when prices
    include tax).
    """

    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    additional_fees: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class TaxSummary:
    """Tax totals (`ecom.common.v1.TaxSummary`): sums over lines, shipping and fees."""

    taxable_amount: Decimal
    total_tax: Decimal


@dataclass(frozen=True)
class AppliedDiscountResult:
    """The amount a discount actually took (after capping), for `applied_discounts`.

    `line_ids` lists the lines it took something off, in line order (empty for GLOBAL and
    SHIPPING). Discounts that took nothing are reported with amount 0.
    """

    source: DiscountSource
    discount_type: DiscountType
    amount: Decimal
    line_ids: tuple[str, ...]


@dataclass(frozen=True)
class PricingResult:
    """Everything `calculate` computes; `pay_now` + `pay_later` = `price_summary` field by field."""

    currency: str
    tax_included_in_prices: bool
    lines: tuple[LineResult, ...]
    shipping: ShippingResult | None
    fees: tuple[FeeResult, ...]
    price_summary: PriceSummary
    tax_summary: TaxSummary
    pay_now: PriceSummary
    pay_later: PriceSummary
    applied_discounts: tuple[AppliedDiscountResult, ...]

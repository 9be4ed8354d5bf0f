"""From a checkout's lines to the pricing engine's input, and from its result back to the
checkout's proto fields. The engine (`services.pricing`) does every sum and rounding; this
module only chooses what is priced and presents what came out.

Priced lines: custom lines, and catalog lines whose item the catalog knew when last read (a line
whose provider just failed keeps the price last read, flagged by its availability and
`calculation_errors`). Lines never read and lines the catalog no longer knows are left out of
every total, and merchant discounts and fees lose them too (the engine refuses ids that are not
in its input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import catalog_pb2, line_item_pb2, pricing_pb2, shipping_pb2
from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog_spi
from services.checkout.discounts import DiscountsResult
from services.checkout.domain import FOUND, Sources
from services.checkout.money import Presenter
from services.checkout.quotes import Fee
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
    parse_amount,
)
from services.pricing import PriceSummary as EngineSummary
from services.pricing import TaxDetails as EngineTaxDetails


@dataclass(frozen=True)
class PricedLine:
    """A line with the numbers the engine needs."""

    line: line_item_pb2.LineItem
    price: Decimal
    full_price: Decimal | None
    deposit: Decimal | None
    tax_group: str
    payment_option: catalog_pb2.PaymentOption.ValueType
    gift_card: bool

    def pricing_input(self) -> LineInput:
        return LineInput(
            id=self.line.id,
            price=self.price,
            quantity=self.line.quantity,
            full_price=self.full_price,
            # Gift cards are a means of payment, not a taxable supply.
            taxable=not self.gift_card,
            tax_group=self.tax_group or None,
            payment_option=payment_option(self.payment_option),
            deposit_amount=self.deposit,
        )


def _is_gift_card(item_type: catalog_pb2.ItemType) -> bool:
    return (
        item_type.WhichOneof("kind") == "preset"
        and item_type.preset == catalog_pb2.ITEM_TYPE_PRESET_GIFT_CARD
    )


def _optional(text: str) -> Decimal | None:
    return parse_amount(text) if text else None


def priced_lines(lines: Sequence[line_item_pb2.LineItem], sources: Sources) -> list[PricedLine]:
    priced: list[PricedLine] = []
    for line in lines:
        source = sources.lines[line.id]
        if source.custom:
            custom = checkout_pb2.CustomLineItem.FromString(source.data)
            priced.append(
                PricedLine(
                    line,
                    parse_amount(custom.price),
                    _optional(custom.full_price),
                    _optional(custom.deposit_amount),
                    custom.tax_group_id,
                    custom.payment_option,
                    _is_gift_card(custom.item_type),
                )
            )
        elif source.state == FOUND and source.data:
            data = catalog_spi.CatalogItemData.FromString(source.data)
            priced.append(
                PricedLine(
                    line,
                    parse_amount(data.price),
                    _optional(data.full_price),
                    _optional(data.deposit_amount),
                    data.tax_group_id,
                    data.payment_option,
                    _is_gift_card(data.item_type),
                )
            )
    return priced


def merchant_source(index: int) -> DiscountSource:
    """Merchant discounts have no id: their position on the checkout is their key."""
    return DiscountSource(DiscountSourceKind.MERCHANT_DISCOUNT, str(index))


def merchant_discounts(
    inputs: Sequence[pricing_pb2.MerchantDiscountInput], priced_ids: set[str]
) -> list[OrderDiscount]:
    discounts = []
    for index, discount in enumerate(inputs):
        ids = [line_id for line_id in discount.line_item_ids if line_id in priced_ids]
        if discount.line_item_ids and not ids:
            continue  # every line it names is unpriced: it takes nothing off now
        discounts.append(
            OrderDiscount(merchant_source(index), parse_amount(discount.amount), tuple(ids))
        )
    return discounts


def fee_id(fee: Fee) -> str:
    return f"{fee.app_id}/{fee.code}"


def pricing_input(
    *,
    currency: str,
    tax_included: bool,
    priced: Sequence[PricedLine],
    discounts: DiscountsResult,
    merchant: Sequence[pricing_pb2.MerchantDiscountInput],
    shipping_price: Decimal | None,
    fees: Sequence[Fee] = (),
    tax_address: TaxAddress | None = None,
    tax_table: TaxTable | None = None,
) -> PricingInput:
    priced_ids = {p.line.id for p in priced}
    shipping = None
    if shipping_price is not None:
        shipping = ShippingInput(shipping_price, tuple(discounts.shipping_discounts))
    return PricingInput(
        currency=currency,
        lines=tuple(p.pricing_input() for p in priced),
        tax_included_in_prices=tax_included,
        line_discounts=tuple(d for d in discounts.line_discounts if d.line_id in priced_ids),
        order_discounts=tuple(merchant_discounts(merchant, priced_ids)),
        shipping=shipping,
        fees=tuple(
            FeeInput(
                fee_id(fee),
                fee.price,
                taxable=fee.taxable,
                tax_group=fee.tax_group or None,
                line_ids=tuple(i for i in fee.line_ids if i in priced_ids),
            )
            for fee in fees
        ),
        tax_address=tax_address,
        tax_table=tax_table,
    )


# --------------------------------------------------------------------------- presenting


def tax_details(p: Presenter, details: EngineTaxDetails) -> pricing_pb2.TaxDetails:
    return pricing_pb2.TaxDetails(
        taxable_amount=p.price(details.taxable_amount),
        tax_rate=f"{details.tax_rate:f}",
        total_tax=p.price(details.total_tax),
        tax_breakdown=[
            pricing_pb2.TaxBreakdown(
                tax_name=part.tax_name,
                jurisdiction=part.jurisdiction,
                rate=f"{part.rate:f}",
                tax_amount=p.price(part.tax_amount),
            )
            for part in details.tax_breakdown
        ],
    )


def summary(p: Presenter, s: EngineSummary) -> pricing_pb2.PriceSummary:
    return pricing_pb2.PriceSummary(
        subtotal=p.price(s.subtotal),
        shipping=p.price(s.shipping),
        tax=p.price(s.tax),
        discount=p.price(s.discount),
        additional_fees=p.price(s.additional_fees),
        total=p.price(s.total),
    )


def present(
    checkout: checkout_pb2.Checkout,
    p: Presenter,
    result: PricingResult,
    fees: Sequence[Fee],
) -> None:
    """Write the engine's result into `checkout`: per-line breakdowns, summaries, fees and the
    selected option's cost (the option itself is already set)."""
    by_id = {line.line_id: line for line in result.lines}
    del checkout.calculated_line_items[:]
    for line in checkout.line_items:
        calculated = checkout.calculated_line_items.add(line_item_id=line.id)
        calculated.payment_option = line.payment_option
        priced = by_id.get(line.id)
        prices = calculated.prices_breakdown
        if priced is None:
            zero = p.price(Decimal(0))
            for name in (
                "total_price_after_tax",
                "total_price_before_tax",
                "total_discount",
                "line_item_price",
            ):
                getattr(prices, name).CopyFrom(zero)
            continue
        prices.total_price_after_tax.CopyFrom(p.price(priced.total_price_after_tax))
        prices.total_price_before_tax.CopyFrom(p.price(priced.total_price_before_tax))
        prices.tax_details.CopyFrom(tax_details(p, priced.tax_details))
        prices.total_discount.CopyFrom(p.price(priced.total_discount))
        prices.price.CopyFrom(p.price(priced.price, exact=True))
        prices.price_before_discounts.CopyFrom(p.price(priced.price_before_discounts, exact=True))
        prices.line_item_price.CopyFrom(p.price(priced.line_item_price))
        prices.full_price.CopyFrom(p.price(priced.full_price, exact=True))
    checkout.price_summary.CopyFrom(summary(p, result.price_summary))
    checkout.pay_now.CopyFrom(summary(p, result.pay_now))
    checkout.pay_later.CopyFrom(summary(p, result.pay_later))
    checkout.tax_summary.CopyFrom(
        pricing_pb2.TaxSummary(
            taxable_amount=p.price(result.tax_summary.taxable_amount),
            total_tax=p.price(result.tax_summary.total_tax),
        )
    )
    fee_results = {fee.id: fee for fee in result.fees}
    del checkout.additional_fees[:]
    for fee in fees:
        computed = fee_results[fee_id(fee)]
        checkout.additional_fees.add(
            code=fee.code,
            name=fee.translated_name or fee.name,
            price=p.price(computed.price),
            tax_details=tax_details(p, computed.tax_details),
            provider_app_id=fee.app_id,
            price_before_tax=p.price(computed.price_before_tax),
            price_after_tax=p.price(computed.price_after_tax),
            line_item_ids=list(computed.line_ids),
        )
    selected = checkout.shipping_info.selected_carrier_service_option
    if result.shipping is not None and selected.code:
        shipping = result.shipping
        selected.cost.CopyFrom(
            shipping_pb2.SelectedCarrierServiceOptionPrices(
                total_price_after_tax=p.price(shipping.total_price_after_tax),
                total_price_before_tax=p.price(shipping.total_price_before_tax),
                tax_details=tax_details(p, shipping.tax_details),
                total_discount=p.price(shipping.total_discount),
                price=p.price(shipping.price),
            )
        )


def applied_amounts(result: PricingResult) -> dict[tuple[str, str], Decimal]:
    """(source kind, source id) -> the amount that discount actually took."""
    return {(a.source.kind.value, a.source.id): a.amount for a in result.applied_discounts}

"""Quoting: which of the settings' rates apply to an order, and what each costs.

- Only shippable lines count: their weight picks the tier of weight-based rates and their
  subtotal (unit price times quantity, before cart discounts, in the request's terms: with tax
  when the site's prices include tax) is compared with `free_over`.
- With a destination, the rates of the region that names it most specifically apply (none when
  no region does). Without one, only pickup rates apply, those of every region: they need no
  destination.
- Amounts from the settings are used as the site's prices are: the rates carry tax exactly when
  the request's `tax_included_in_prices` says prices do (the SPI's rule); nothing is converted.
  Each price is rounded half-even to the request currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from services.pricing import PRICING_CONTEXT, quantize
from services.providers.common.lines import Line, WeightUnit, convert_weight, shippable, subtotal
from services.providers.common.money import check_currency
from services.providers.common.places import Destination
from services.providers.shipping.settings import Rate, Region, ShippingSettings


@dataclass(frozen=True)
class Quote:
    rate: Rate
    price: Decimal
    #: True when the rate's `free_over` threshold made it free.
    free: bool = False


@dataclass(frozen=True)
class Quotes:
    #: The region the destination falls in; None without a destination or outside every region.
    region: Region | None
    quotes: tuple[Quote, ...]


@dataclass(frozen=True)
class Order:
    lines: Sequence[Line]
    destination: Destination | None
    weight_unit: WeightUnit
    currency: str


def quote(settings: ShippingSettings, order: Order) -> Quotes:
    check_currency(settings.currency, order.currency)
    shipped = shippable(order.lines)
    region = settings.region_for(order.destination) if order.destination else None
    if not shipped:
        # Nothing ships (or a health probe with no lines): no option is needed.
        return Quotes(region, ())
    rates = region.rates if region else ()
    if order.destination is None:
        rates = tuple(settings.pickup_rates())
    with localcontext(PRICING_CONTEXT):
        weight = sum((line.total_weight for line in shipped), Decimal(0))
    weight_kg = convert_weight(weight, order.weight_unit, WeightUnit.KG)
    goods = subtotal(shipped)
    quotes = []
    for rate in rates:
        price = rate.base_price(weight_kg)
        if price is None:
            continue  # heavier than the last tier: this rate cannot carry the order
        free = rate.free_over is not None and goods >= rate.free_over
        quotes.append(Quote(rate, quantize(Decimal(0) if free else price, order.currency), free))
    return Quotes(region, tuple(quotes))

"""Which fees an order pays, and how much.

- The handling fee is `amount` times the number of units (or lines, with `per: line`) whose item
  type is one of `item_types`, charged for those lines (`line_item_ids`). No such line: no fee.
- Each regional fee whose countries or subdivisions name the shipping destination is charged
  once for the whole order. No destination (nothing ships, or none given yet): none.
- A fee of 0 is left out. Amounts are rounded half-even to the currency's minor unit. Fees are
  before tax; the suite taxes the taxable ones (`taxable`, `tax_group_id`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from services.pricing import PRICING_CONTEXT, quantize
from services.providers.common.lines import Line
from services.providers.common.money import check_currency
from services.providers.common.places import Destination, Match
from services.providers.fees.settings import FeeSettings, HandlingFee, Per, Taxes


@dataclass(frozen=True)
class Fee:
    code: str
    name: str
    price: Decimal
    taxes: Taxes
    #: The lines the fee is charged for; empty for the whole order.
    line_item_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Order:
    lines: Sequence[Line]
    destination: Destination | None
    currency: str


def calculate(settings: FeeSettings, order: Order) -> list[Fee]:
    check_currency(settings.currency, order.currency)
    if not order.lines:
        return []  # a health probe: no order, no fees
    fees = []
    if settings.handling is not None:
        handling = _handling(settings.handling, order)
        if handling is not None:
            fees.append(handling)
    for region_fee in settings.region_fees:
        if region_fee.places.match(order.destination) is Match.NONE:
            continue
        price = quantize(region_fee.amount, order.currency)
        if price:
            fees.append(Fee(region_fee.code, region_fee.name, price, region_fee.taxes))
    return fees


def _handling(fee: HandlingFee, order: Order) -> Fee | None:
    charged = [line for line in order.lines if line.item_type in fee.item_types]
    count = len(charged) if fee.per is Per.LINE else sum(line.quantity for line in charged)
    with localcontext(PRICING_CONTEXT):
        price = quantize(fee.amount * count, order.currency)
    if not price:
        return None
    # A line without an id cannot be named (the suite always sends ids; probes may not).
    ids = tuple(line.id for line in charged if line.id)
    return Fee(fee.code, fee.name, price, fee.taxes, ids)

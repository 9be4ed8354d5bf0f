"""The rules: quantity limits per catalog item, the minimum order value, blocked destinations.

- Quantities are counted per catalog item: the lines of one item (its variants, or the same item
  added twice) add up, so a limit cannot be dodged by choosing another size. A line without a
  catalog item id (a custom line item) counts alone, under the default limit. A broken limit is
  reported on each line of the item.
- The minimum order value is compared with the subtotal after discounts (or before, with
  `basis: subtotal`) from the request's price summary, or with the lines' unit price times
  quantity when the summary has no subtotal yet; shipping, fees and tax never count. It is
  reported on the "general" target.
- A blocked destination is reported on the "shipping_destination" target when the order has a
  shippable line and a shipping address in one of the blocked countries or subdivisions.
- Nothing is reported for an order without lines (a health probe). At most 100 violations are
  returned (the SPI's limit), ERRORs first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from services.pricing import PRICING_CONTEXT, format_amount
from services.providers.common.lines import Line, shippable, subtotal
from services.providers.common.money import check_currency
from services.providers.common.places import Destination, Match
from services.providers.common.reading import Severity
from services.providers.validations.settings import (
    Basis,
    BlockedDestinations,
    MinimumOrderValue,
    ValidationSettings,
)

MAX_VIOLATIONS = 100
GENERAL = "general"
SHIPPING_DESTINATION = "shipping_destination"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    description: str
    #: The line the violation is about; empty for an order-level one (see `area`).
    line_id: str = ""
    #: The area of an order-level violation ("general", "shipping_destination").
    area: str = GENERAL


@dataclass(frozen=True)
class Totals:
    """From the request's price summary; None where it has no value yet."""

    subtotal: Decimal | None = None
    discount: Decimal | None = None


@dataclass(frozen=True)
class Order:
    lines: Sequence[Line]
    destination: Destination | None
    currency: str
    totals: Totals = Totals()


def validate(settings: ValidationSettings, order: Order) -> list[Finding]:
    check_currency(settings.currency, order.currency)
    if not order.lines:
        return []
    findings = _quantities(settings, order.lines)
    if settings.minimum_order_value is not None:
        findings.extend(_minimum(settings.minimum_order_value, order))
    if settings.blocked_destinations is not None:
        findings.extend(_blocked(settings.blocked_destinations, order))
    # Stable sort: ERRORs first, each group in the order found, so a cut never drops an ERROR
    # while keeping a WARNING.
    findings.sort(key=lambda finding: finding.severity is not Severity.ERROR)
    return findings[:MAX_VIOLATIONS]


def _quantities(settings: ValidationSettings, lines: Sequence[Line]) -> list[Finding]:
    groups: dict[tuple[str, str], list[Line]] = {}
    for line in lines:
        key = (line.app_id, line.catalog_item_id) if line.catalog_item_id else ("", line.id)
        groups.setdefault(key, []).append(line)
    findings: list[Finding] = []
    for (_, item_id), group in groups.items():
        limit = settings.limit_for(item_id) if group[0].catalog_item_id else settings.default_limit
        count = sum(line.quantity for line in group)
        name = _name(group[0])
        description = ""
        if limit.max is not None and count > limit.max:
            description = f"You can buy at most {limit.max} of {name} per order ({count} now)."
        elif limit.min is not None and count < limit.min:
            description = f"You need to buy at least {limit.min} of {name} ({count} now)."
        if description:
            findings.extend(Finding(limit.severity, description, line.id) for line in group)
    return findings


def _minimum(rule: MinimumOrderValue, order: Order) -> list[Finding]:
    value = order.totals.subtotal
    if value is None:
        value = subtotal(order.lines)
    if rule.basis is Basis.SUBTOTAL_AFTER_DISCOUNTS and order.totals.discount is not None:
        with localcontext(PRICING_CONTEXT):
            value -= order.totals.discount
    if value >= rule.amount:
        return []
    minimum = format_amount(rule.amount, order.currency)
    current = format_amount(value, order.currency)
    what = "after discounts, " if rule.basis is Basis.SUBTOTAL_AFTER_DISCOUNTS else ""
    description = rule.message or (
        f"The minimum order value is {minimum} ({what}before shipping and tax); "
        f"this order comes to {current}."
    )
    return [Finding(rule.severity, description, area=GENERAL)]


def _blocked(rule: BlockedDestinations, order: Order) -> list[Finding]:
    if not shippable(order.lines) or rule.places.match(order.destination) is Match.NONE:
        return []
    assert order.destination is not None  # a match needs a destination
    description = rule.message or (
        f"We do not ship to {order.destination.describe()}. Choose another shipping address."
    )
    return [Finding(rule.severity, description, area=SHIPPING_DESTINATION)]


def _name(line: Line) -> str:
    if line.name:
        return f'"{line.name}"'
    return f"item {line.catalog_item_id}" if line.catalog_item_id else "this item"

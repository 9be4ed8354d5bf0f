"""Applying a usable coupon to what the rules left of each line (coupon.proto).

- `percent_off_rate`: that percent of what is left of each unit in scope;
- `fixed_price_amount`: each unit in scope is sold for the price (units already cheaper keep
  their price);
- `money_off_amount`: once off the lines in scope, capped at what is left of them, split across
  them in proportion to what is left of each by the largest-remainder method of the pricing
  engine (`services.pricing.allocate`), so the shares add up exactly and none exceeds its line;
- `free_shipping`: the shipping price, no line discount;
- `limited_to_one_item`: only the single unit in scope with the most left after the rules (ties:
  the line first in the request) is discounted, the money off capped at what is left of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from services.discounts.domain.ledger import Ledger
from services.discounts.domain.lines import Line, matches
from services.discounts.domain.model import Coupon, CouponDefinition, CouponKind
from services.discounts.domain.results import AppliedType, CouponResult, SourceKind
from services.discounts.domain.units import LineUnits
from services.pricing.allocation import allocate

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def lines_in_scope(definition: CouponDefinition, lines: Sequence[Line]) -> list[int]:
    """Indexes of the lines the coupon covers (every line when it has no scope)."""
    scope = definition.scope
    return [i for i, line in enumerate(lines) if scope is None or matches(scope, line)]


def applied_type(definition: CouponDefinition) -> AppliedType:
    if definition.kind is CouponKind.FREE_SHIPPING:
        return AppliedType.SHIPPING
    if definition.scope is None and not definition.limited_to_one_item:
        return AppliedType.GLOBAL
    return AppliedType.SPECIFIC_ITEMS


def _per_unit(definition: CouponDefinition) -> Callable[[Decimal], Decimal]:
    """What the coupon takes off one unit, given what is left of that unit."""
    value = definition.value
    if definition.kind is CouponKind.PERCENT_OFF_RATE:
        return lambda left: left * value / _HUNDRED
    if definition.kind is CouponKind.FIXED_PRICE_AMOUNT:
        return lambda left: max(left - value, _ZERO)
    return lambda left: min(value, left)  # money off, on a single unit


def _one_item(
    coupon: Coupon, scope: list[int], units: list[LineUnits], ledger: Ledger
) -> dict[int, Decimal]:
    best = max(scope, key=lambda i: (units[i].best_unit(), -i))
    left = units[best].best_unit()
    if left <= 0:
        return {}
    exact = min(max(_per_unit(coupon.definition)(left), _ZERO), left)
    amount = ledger.book(best, SourceKind.COUPON, coupon.id, exact, 1)
    return {best: amount}


def _money_off(
    coupon: Coupon, scope: list[int], units: list[LineUnits], ledger: Ledger
) -> dict[int, Decimal]:
    weights = [ledger.left[i] for i in scope]
    total = min(ledger.rounded(coupon.definition.value), sum(weights, _ZERO))
    if total <= 0:
        return {}
    taken: dict[int, Decimal] = {}
    for i, share in zip(scope, allocate(total, weights, ledger.unit), strict=True):
        if share > 0:
            quantity = units[i].line.quantity
            taken[i] = ledger.book(i, SourceKind.COUPON, coupon.id, share, quantity)
    return taken


def _each_unit(
    coupon: Coupon, scope: list[int], units: list[LineUnits], ledger: Ledger
) -> dict[int, Decimal]:
    per_unit = _per_unit(coupon.definition)
    taken: dict[int, Decimal] = {}
    for i in scope:
        take = units[i].take_each(per_unit)
        if take.amount > 0:
            taken[i] = ledger.book(i, SourceKind.COUPON, coupon.id, take.amount, take.units)
    return taken


def apply(
    coupon: Coupon,
    lines: Sequence[Line],
    shipping_amount: Decimal | None,
    units: list[LineUnits],
    ledger: Ledger,
) -> CouponResult:
    """Apply a coupon that passed every check (it has at least one line in scope). The coupon is
    the last discount, so `units` need not reflect it afterwards."""
    definition = coupon.definition
    kind = applied_type(definition)
    if definition.kind is CouponKind.FREE_SHIPPING:
        shipping = ledger.rounded(shipping_amount) if shipping_amount is not None else _ZERO
        return CouponResult(coupon, shipping, (), kind, True, shipping)
    scope = lines_in_scope(definition, lines)
    if definition.limited_to_one_item:
        taken = _one_item(coupon, scope, units, ledger)
    elif definition.kind is CouponKind.MONEY_OFF_AMOUNT:
        taken = _money_off(coupon, scope, units, ledger)
    else:
        taken = _each_unit(coupon, scope, units, ledger)
    line_ids = tuple(lines[i].id for i in sorted(taken) if taken[i] > 0)
    return CouponResult(coupon, sum(taken.values(), _ZERO), line_ids, kind)

"""Which units a rule's discounts target, and how much each takes off one unit.

A discount becomes `Claim`s: "take `per_unit` off `count` units of line `index`". Per-unit
amounts are computed on the unit price before any discount (the contract's STACK_ALL rule);
`units.LineUnits.take` then caps each unit at what is left of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.discounts.domain.lines import Line, LineIndex, index_of
from services.discounts.domain.model import (
    AmountKind,
    AppliesTo,
    BuyXGetY,
    Discount,
    SpecificItems,
)

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Claim:
    index: int
    count: int
    per_unit: Decimal


def per_unit(kind: AmountKind, value: Decimal, price: Decimal) -> Decimal:
    """What a discount takes off one unit of `price` (never more than the price, never < 0)."""
    if kind is AmountKind.PERCENTAGE:
        return price * value / _HUNDRED
    if kind is AmountKind.FIXED_AMOUNT:
        return min(value, price)
    return max(price - value, _ZERO)


def claims(
    discount: Discount, applies_to: AppliesTo, lines: Sequence[Line] | LineIndex
) -> list[Claim]:
    index = index_of(lines)
    if isinstance(discount.target, SpecificItems):
        return _specific_items(discount, discount.target, applies_to, index)
    return _buy_x_get_y(discount, discount.target, index)


def _specific_items(
    discount: Discount, target: SpecificItems, applies_to: AppliesTo, index: LineIndex
) -> list[Claim]:
    lines = index.lines
    indexes = index.indexes(target.scopes)
    if applies_to is AppliesTo.LOWEST_PRICED_ITEM:
        if not indexes:
            return []
        # min() keeps the first of equal prices: ties go to the line first in the request.
        cheapest = min(indexes, key=lambda i: lines[i].price)
        indexes, counts = [cheapest], {cheapest: 1}
    else:
        counts = {i: lines[i].quantity for i in indexes}
    return [
        Claim(i, counts[i], per_unit(discount.kind, discount.value, lines[i].price))
        for i in indexes
    ]


def buy_x_get_y_rounds(target: BuyXGetY, lines: Sequence[Line] | LineIndex) -> dict[int, int]:
    """The "get" units of a buy-X-get-Y offer: line index -> units discounted.

    Each round takes the X most expensive unused "buy" units, then the Y cheapest other unused
    "get" units; ties go to the earlier line. Rather than walking unit by unit (a line may hold
    100000), whole runs of identical rounds are taken at once while the most expensive buy line
    and the cheapest get line both have enough units left; a single round is then walked
    explicitly, which always uses up one of them, so there are at most about two single rounds
    per line.
    """
    x, y, limit = target.buy_quantity, target.get_quantity, target.limit
    index = index_of(lines)
    lines = index.lines
    buy_order = index.by_price(target.buy_scopes, dearest_first=True)
    get_order = index.by_price(target.get_scopes, dearest_first=False)
    left = {i: line.quantity for i, line in enumerate(lines)}
    got: dict[int, int] = {}
    rounds = 0
    while not limit or rounds < limit:
        top = next((i for i in buy_order if left[i]), None)
        bottom = next((i for i in get_order if left[i]), None)
        if top is None or bottom is None:
            break
        # One line may be both the top buy line and the bottom get line: a round then takes
        # x + y of its units.
        runs = min(left[top] // x, left[bottom] // y) if top != bottom else left[top] // (x + y)
        if limit:
            runs = min(runs, limit - rounds)
        if runs:
            left[top] -= runs * x
            left[bottom] -= runs * y
            got[bottom] = got.get(bottom, 0) + runs * y
            rounds += runs
            continue
        trial = dict(left)
        if not _fill(trial, buy_order, x, None):
            break
        taken: dict[int, int] = {}
        if not _fill(trial, get_order, y, taken):
            break
        left = trial
        for i, count in taken.items():
            got[i] = got.get(i, 0) + count
        rounds += 1
    return got


def _fill(left: dict[int, int], order: list[int], need: int, taken: dict[int, int] | None) -> bool:
    for i in order:
        if not need:
            break
        count = min(left[i], need)
        if count:
            left[i] -= count
            need -= count
            if taken is not None:
                taken[i] = taken.get(i, 0) + count
    return need == 0


def _buy_x_get_y(discount: Discount, target: BuyXGetY, index: LineIndex) -> list[Claim]:
    lines = index.lines
    got = buy_x_get_y_rounds(target, index)
    return [
        Claim(i, count, per_unit(discount.kind, discount.value, lines[i].price))
        for i, count in sorted(got.items())
    ]

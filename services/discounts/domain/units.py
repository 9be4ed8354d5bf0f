"""The units of a line and what has been taken off each, without one object per unit.

A line of 100000 units must not become 100000 objects, yet discounts act on single units
(LOWEST_PRICED_ITEM, buy-X-get-Y, `limited_to_one_item`) and a unit's total discount is capped
at its price. Units of one line share their price, so they differ only in how much has been taken
off them so far: a line is a few buckets `(count, taken per unit)`, and there are never more
buckets than discounts that touched the line, plus one.

All amounts here are exact (unrounded); rounding happens once per line and per discount, in
`evaluation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from services.discounts.domain.lines import Line

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Bucket:
    count: int
    #: Taken off each of these units so far (0 <= taken <= price).
    taken: Decimal


class Take(NamedTuple):  # a tuple: made for every (rule, line), and cheaper to make
    """What one application took off a line."""

    amount: Decimal
    #: Units that got something off.
    units: int


class LineUnits:
    def __init__(self, line: Line, buckets: list[Bucket] | None = None) -> None:
        self.line = line
        self.buckets = buckets if buckets is not None else [Bucket(line.quantity, _ZERO)]

    def copy(self) -> LineUnits:
        return LineUnits(self.line, list(self.buckets))

    @property
    def remaining(self) -> Decimal:
        """What is left of the whole line."""
        price = self.line.price
        return sum((b.count * (price - b.taken) for b in self.buckets), _ZERO)

    def best_unit(self) -> Decimal:
        """What is left of the line's least discounted unit (0 when nothing is left)."""
        return max((self.line.price - b.taken for b in self.buckets if b.count), default=_ZERO)

    def take(self, count: int, per_unit: Decimal) -> Take:
        """Take up to `per_unit` off each of `count` units, choosing the units with the most left
        (the buyer's best choice), each capped at what is left of it."""
        price = self.line.price
        left_to_choose = min(count, self.line.quantity)
        if len(self.buckets) == 1:
            return self._take_from_one(left_to_choose, per_unit)
        amount, units = _ZERO, 0
        result: list[Bucket] = []
        for bucket in sorted(self.buckets, key=lambda b: b.taken):
            chosen = min(bucket.count, left_to_choose)
            left_to_choose -= chosen
            if chosen < bucket.count:
                result.append(Bucket(bucket.count - chosen, bucket.taken))
            if chosen:
                extra = min(per_unit, price - bucket.taken)
                if extra > 0:
                    amount += extra * chosen
                    units += chosen
                result.append(Bucket(chosen, bucket.taken + max(extra, _ZERO)))
        self.buckets = _merged(result)
        return Take(amount, units)

    def _take_from_one(self, chosen: int, per_unit: Decimal) -> Take:
        """`take` when every unit has had the same taken off so far (the common case)."""
        bucket = self.buckets[0]
        extra = max(min(per_unit, self.line.price - bucket.taken), _ZERO)
        if not chosen or not extra:
            return Take(_ZERO, 0)
        taken = bucket.taken + extra
        if chosen < bucket.count:
            self.buckets = [Bucket(bucket.count - chosen, bucket.taken), Bucket(chosen, taken)]
        else:
            self.buckets = [Bucket(chosen, taken)]
        return Take(extra * chosen, chosen)

    def take_each(self, per_unit_of_left: Callable[[Decimal], Decimal]) -> Take:
        """Take `per_unit_of_left(left of the unit)` off every unit (coupons act on what is
        left, which differs between buckets)."""
        price = self.line.price
        amount, units = _ZERO, 0
        result: list[Bucket] = []
        for bucket in self.buckets:
            left = price - bucket.taken
            extra = min(max(per_unit_of_left(left), _ZERO), left)
            if extra > 0:
                amount += extra * bucket.count
                units += bucket.count
            result.append(Bucket(bucket.count, bucket.taken + extra))
        self.buckets = _merged(result)
        return Take(amount, units)


def _merged(buckets: list[Bucket]) -> list[Bucket]:
    by_taken: dict[Decimal, int] = {}
    for bucket in buckets:
        if bucket.count:
            by_taken[bucket.taken] = by_taken.get(bucket.taken, 0) + bucket.count
    return [Bucket(count, taken) for taken, count in sorted(by_taken.items())]

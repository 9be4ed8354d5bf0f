"""The request lines as the reference providers see them: plain Python, amounts as Decimals."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from services.pricing import PRICING_CONTEXT

#: One pound in kilograms, exactly (international avoirdupois pound, 1959).
KG_PER_LB = Decimal("0.45359237")


class WeightUnit(enum.IntEnum):
    """Numbers as in `ecom.common.v1.WeightUnit`."""

    KG = 1
    LB = 2


def convert_weight(weight: Decimal, source: WeightUnit, target: WeightUnit) -> Decimal:
    """`weight` in `source` units expressed in `target` units (exact for LB -> KG)."""
    if source is target:
        return weight
    with localcontext(PRICING_CONTEXT):
        return weight * KG_PER_LB if source is WeightUnit.LB else weight / KG_PER_LB


@dataclass(frozen=True)
class Line:
    """One line of a cart or checkout, as last read from its catalog."""

    id: str
    quantity: int
    #: Price of one unit before cart discounts; 0 when the request gave none.
    unit_price: Decimal
    #: Weight of one unit in the request's weight unit; None when unknown.
    weight: Decimal | None
    shippable: bool
    #: "PHYSICAL", "DIGITAL", "GIFT_CARD", "SERVICE", a custom type's name, or "" when unset.
    item_type: str
    catalog_item_id: str = ""
    app_id: str = ""
    name: str = ""

    @property
    def total(self) -> Decimal:
        with localcontext(PRICING_CONTEXT):
            return self.unit_price * self.quantity

    @property
    def total_weight(self) -> Decimal:
        """Weight of the whole line; an unknown weight counts as 0."""
        if self.weight is None:
            return Decimal(0)
        with localcontext(PRICING_CONTEXT):
            return self.weight * self.quantity


def subtotal(lines: Iterable[Line]) -> Decimal:
    """Unit price times quantity, summed (exact; not rounded)."""
    with localcontext(PRICING_CONTEXT):
        return sum((line.total for line in lines), Decimal(0))


def shippable(lines: Sequence[Line]) -> list[Line]:
    return [line for line in lines if line.shippable]

"""Rounded discount parts per line, and what is left of each line's rounded total."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from services.discounts.domain.lines import Line
from services.discounts.domain.results import Part, SourceKind
from services.pricing.money import PRICING_CONTEXT, minor_unit, quantize


class Ledger:
    """Each (line, discount) part is rounded half-even to the minor unit once, then capped at
    what is left of the line's rounded total: parts never take a line below zero, and a line's
    total discount is exactly the sum of its parts."""

    def __init__(self, lines: Sequence[Line], currency: str) -> None:
        self.currency = currency
        self.unit = minor_unit(currency)
        self.left = [quantize(line.total, currency) for line in lines]
        self.parts: list[list[Part]] = [[] for _ in lines]

    def rounded(self, exact: Decimal) -> Decimal:
        """`pricing.money.quantize(exact, currency)`, with the unit looked up once per ledger
        (an evaluation rounds a hundred parts or more)."""
        try:
            rounded = exact.quantize(self.unit, ROUND_HALF_EVEN, PRICING_CONTEXT)
        except (InvalidOperation, AttributeError, TypeError):
            return quantize(exact, self.currency)  # raises the pricing engine's error
        if not rounded.is_finite():
            return quantize(exact, self.currency)
        return abs(rounded) if rounded.is_zero() else rounded

    def book(
        self, index: int, kind: SourceKind, source_id: str, exact: Decimal, units: int
    ) -> Decimal:
        """Round `exact`, cap it at what is left of line `index`, record it; returns it."""
        amount = min(self.rounded(exact), self.left[index])
        if amount > 0:
            self.left[index] -= amount
            self.parts[index].append(Part(kind, source_id, amount, units))
        return amount

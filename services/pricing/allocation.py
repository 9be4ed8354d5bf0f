"""Splitting an amount into shares that add up exactly: the largest remainder method.

Used wherever one rounded amount must be spread over several parts: an order-level (GLOBAL)
discount over the lines, a line's tax over its jurisdictions, a deposit line's discount and tax
over pay-now and pay-later.

Why largest remainder (Hamilton's method): rounding each proportional share on its own makes the
shares miss the total by up to half a minor unit per part. Instead every share is first rounded
*down* to the minor unit, and the units still missing are handed out one each to the parts with
the largest dropped remainders. The shares then add up to the total exactly, and each is within
one minor unit of its exact proportional value. Ties go to the earlier part, so the result is
deterministic. The arithmetic uses `fractions.Fraction`, so no precision is lost on the way.

A useful consequence (the engine relies on it): when every weight is a multiple of the unit and
the total does not exceed the sum of the weights, no share exceeds its weight, so a discount
spread over lines never takes a line below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction


def allocate(total: Decimal, weights: Sequence[Decimal], unit: Decimal) -> list[Decimal]:
    """Split `total` into `len(weights)` shares proportional to `weights`.

    `total` must be a non-negative multiple of `unit` (a currency's minor unit, e.g. 0.01);
    `weights` non-negative. Returns multiples of `unit` that add up to `total` exactly. All-zero
    weights are allowed only for a zero total (every share is then 0). Raises `ValueError` on
    invalid arguments.
    """
    if unit <= 0:
        raise ValueError(f"unit must be positive, got {unit}")
    if total < 0:
        raise ValueError(f"total must not be negative, got {total}")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    units = Fraction(total) / Fraction(unit)
    if units.denominator != 1:
        raise ValueError(f"total {total} is not a multiple of {unit}")
    total_units = units.numerator
    weight_sum = sum((Fraction(weight) for weight in weights), Fraction(0))
    if total_units == 0:
        return [Decimal(0) * unit for _ in weights]
    if weight_sum == 0:
        raise ValueError(f"cannot allocate {total} over weights that are all zero")

    quotas = [Fraction(total_units) * Fraction(weight) / weight_sum for weight in weights]
    floors = [quota.numerator // quota.denominator for quota in quotas]
    missing = total_units - sum(floors)
    # Largest remainder first; on equal remainders the earlier part wins.
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for index in order[:missing]:
        floors[index] += 1
    return [unit * share for share in floors]

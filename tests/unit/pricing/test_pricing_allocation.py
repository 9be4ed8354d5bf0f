"""The largest remainder method: exact sums, bounded error, deterministic ties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing import allocate

D = Decimal
CENT = D("0.01")


def test_even_split_with_a_remainder_goes_to_the_first() -> None:
    assert allocate(D("1.00"), [D(1), D(1), D(1)], CENT) == [D("0.34"), D("0.33"), D("0.33")]


def test_largest_remainder_wins() -> None:
    # Exact shares 1.666.., 3.333.., 5.00: floors add to 9.99, the largest remainder gets 0.01.
    shares = allocate(D("10.00"), [D("10.00"), D("20.00"), D("30.00")], CENT)
    assert shares == [D("1.67"), D("3.33"), D("5.00")]


def test_zero_total_and_zero_weights() -> None:
    assert allocate(D("0.00"), [D(0), D(0)], CENT) == [D("0.00"), D("0.00")]
    assert allocate(D("0"), [], D(1)) == []
    assert allocate(D("5"), [D(0), D(3)], D(1)) == [D(0), D(5)]


def test_yen_and_rates_as_weights() -> None:
    assert allocate(D("100"), [D("0.05"), D("0.09975")], D(1)) == [D("33"), D("67")]


@pytest.mark.parametrize(
    ("total", "weights", "unit", "problem"),
    [
        (D("1.005"), [D(1)], CENT, "not a multiple"),
        (D("-1"), [D(1)], D(1), "negative"),
        (D("1"), [D(-1), D(2)], D(1), "negative"),
        (D("1"), [D(0)], D(1), "all zero"),
        (D("1"), [D(1)], D(0), "unit"),
    ],
)
def test_invalid_arguments(
    total: Decimal, weights: list[Decimal], unit: Decimal, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        allocate(total, weights, unit)


_UNITS = st.sampled_from([D(1), D("0.01"), D("0.001")])


@settings(max_examples=100, deadline=None)
@given(
    unit=_UNITS,
    total_units=st.integers(min_value=0, max_value=10**6),
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=12,
    ),
)
def test_shares_add_up_and_stay_within_one_unit(
    unit: Decimal, total_units: int, weights: list[Decimal]
) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], D(1)]
    total = unit * total_units
    shares = allocate(total, weights, unit)
    assert sum(shares) == total
    assert all(share >= 0 and (share / unit) % 1 == 0 for share in shares)
    weight_sum = sum(Fraction(w) for w in weights)
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total) * Fraction(weight) / weight_sum
        assert abs(Fraction(share) - exact) < Fraction(unit)
    assert allocate(total, weights, unit) == shares  # deterministic


@settings(max_examples=100, deadline=None)
@given(
    weights_units=st.lists(st.integers(min_value=0, max_value=10**5), min_size=1, max_size=10),
    data=st.data(),
)
def test_no_share_exceeds_its_weight_when_the_total_fits(
    weights_units: list[int], data: st.DataObject
) -> None:
    # What keeps a spread discount from taking any line below zero.
    weights = [CENT * w for w in weights_units]
    total = CENT * data.draw(st.integers(min_value=0, max_value=sum(weights_units)))
    if sum(weights_units) == 0:
        assert total == 0
    shares = allocate(total, weights, CENT)
    assert all(share <= weight for share, weight in zip(shares, weights, strict=True))

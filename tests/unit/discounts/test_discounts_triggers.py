"""Trigger evaluation: ranges, scopes, and three-valued AND / OR over custom triggers."""

from __future__ import annotations

from decimal import Decimal

from services.discounts.domain.model import (
    AllOf,
    AnyOf,
    CustomTrigger,
    QuantityRange,
    SubtotalRange,
    custom_triggers,
)
from services.discounts.domain.triggers import is_met
from tests.unit.discounts.builders import line, scope

LINES = (line("a", "20.00", 2, item="shirt"), line("b", "5.00", 1, item="cap"))  # 45.00, 3 units
VIP = CustomTrigger("vip", "triggers-app")


def test_subtotal_range_is_inclusive_and_uses_the_callers_subtotal() -> None:
    assert is_met(SubtotalRange((), Decimal(45), Decimal(45)), LINES, None, {})
    assert not is_met(SubtotalRange((), Decimal("45.01"), None), LINES, None, {})
    assert not is_met(SubtotalRange((), None, Decimal("44.99")), LINES, None, {})
    # Without scopes the request's subtotal wins; with scopes the matching lines are summed.
    assert is_met(SubtotalRange((), Decimal(100), None), LINES, Decimal(100), {})
    caps = SubtotalRange((scope("cap"),), Decimal(5), Decimal(5))
    assert is_met(caps, LINES, Decimal(100), {})


def test_quantity_range_defaults() -> None:
    assert is_met(QuantityRange((), 0, 0), LINES, None, {})  # min 0 means 1, max 0 unbounded
    assert is_met(QuantityRange((), 3, 3), LINES, None, {})
    assert not is_met(QuantityRange((), 4, 0), LINES, None, {})
    assert not is_met(QuantityRange((scope("shirt"),), 3, 0), LINES, None, {})
    # A line matching several scopes counts once.
    both = QuantityRange((scope("shirt"), scope()), 3, 3)
    assert is_met(both, LINES, None, {})
    assert not is_met(QuantityRange((), 1, 0), (), None, {})


def test_and_or_are_decided_without_unknown_parts_when_they_can_be() -> None:
    small = SubtotalRange((), Decimal(100), None)  # false for LINES
    many = QuantityRange((), 3, 0)  # true for LINES
    assert is_met(AllOf((small, VIP)), LINES, None, {}) is False
    assert is_met(AnyOf((many, VIP)), LINES, None, {}) is True
    assert is_met(AllOf((many, VIP)), LINES, None, {}) is None
    assert is_met(AnyOf((small, VIP)), LINES, None, {}) is None
    nested = AllOf((many, AnyOf((small, VIP))))
    assert [path for path, _ in custom_triggers(nested)] == ["1.1"]
    assert is_met(nested, LINES, None, {"1.1": True}) is True
    assert is_met(nested, LINES, None, {"1.1": False}) is False
    assert is_met(VIP, LINES, None, {"": True}) is True
    assert is_met(None, LINES, None, {}) is False

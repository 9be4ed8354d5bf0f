"""Whether a rule's trigger is met by a set of lines.

Evaluation is three-valued (Kleene logic): a custom trigger whose provider has not been asked yet
is `None` (unknown), and an AND / OR is decided as soon as its known members decide it. The
evaluator first runs with every custom trigger unknown; only rules that stay undecided need their
discount-triggers providers, so a rule like "subtotal >= 100 AND vip-member" costs no provider
call for a 20-dollar cart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from services.discounts.domain.lines import Line, LineIndex, index_of
from services.discounts.domain.model import (
    AllOf,
    AnyOf,
    CustomTrigger,
    QuantityRange,
    SubtotalRange,
    Trigger,
)

#: Answers for custom triggers, by their path in the tree (see `model.custom_triggers`):
#: True / False when known, absent when unknown.
CustomAnswers = Mapping[str, bool]

_RANGES = (SubtotalRange, QuantityRange)


def _subtotal_in_range(
    node: SubtotalRange, lines: LineIndex, request_subtotal: Decimal | None
) -> bool:
    if not node.scopes and request_subtotal is not None:
        amount = request_subtotal
    else:
        amount = lines.sums(node.scopes)[0]
    if node.minimum is not None and amount < node.minimum:
        return False
    return node.maximum is None or amount <= node.maximum


def _quantity_in_range(node: QuantityRange, lines: LineIndex) -> bool:
    quantity = lines.sums(node.scopes)[1]
    if quantity < node.effective_minimum:
        return False
    return not node.maximum or quantity <= node.maximum


def is_met(
    trigger: Trigger | None,
    lines: Sequence[Line] | LineIndex,
    request_subtotal: Decimal | None,
    answers: CustomAnswers,
) -> bool | None:
    """True, False, or None while it depends on custom triggers that are not answered yet."""
    index = index_of(lines)

    def walk(node: Trigger, path: str) -> bool | None:
        if isinstance(node, AllOf | AnyOf):
            # A child's path names custom triggers' answers only: range children need none.
            results = [
                walk(child, "" if isinstance(child, _RANGES) else f"{path}.{i}" if path else str(i))
                for i, child in enumerate(node.triggers)
            ]
            decisive = isinstance(node, AnyOf)  # OR is decided by a True, AND by a False
            if decisive in results:
                return decisive
            return None if None in results else not decisive
        if isinstance(node, SubtotalRange):
            return _subtotal_in_range(node, index, request_subtotal)
        if isinstance(node, QuantityRange):
            return _quantity_in_range(node, index)
        assert isinstance(node, CustomTrigger)
        return answers.get(path)

    if trigger is None:
        return False
    return walk(trigger, "")

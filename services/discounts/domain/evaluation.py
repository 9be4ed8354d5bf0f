"""GetAppliedDiscounts as a pure function: rules whose triggers were decided, a coupon, the lines
and the site's stacking policy in; per-line parts, rule outcomes and the coupon's result out.

Order of work (discount_rules_service.proto):
1. Rules (oldest first) whose trigger is met take their discounts, combined under the stacking
   policy. STACK_ALL: every rule applies, each computed on the unit price before any discount and
   cut down to what is left of each unit. BEST_PER_ITEM: each line gets only the rule that takes
   the most off it (ties: the older rule).
2. The coupon applies to what the rules left (coupon.proto).
Rounding: every (line, discount) part is rounded half-even to the currency's minor unit once, and
capped at what is left of the line's rounded total, so no line goes below zero and every total is
a sum of rounded parts.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from services.discounts.domain import coupons
from services.discounts.domain.ledger import Ledger
from services.discounts.domain.lines import Line, LineIndex
from services.discounts.domain.model import Coupon, Rule, StackingPolicy
from services.discounts.domain.results import (
    CouponError,
    Evaluation,
    LineDiscount,
    Outcome,
    RuleResult,
    SourceKind,
)
from services.discounts.domain.status import CouponProblem, coupon_usable, describe
from services.discounts.domain.targeting import claims
from services.discounts.domain.units import LineUnits, Take
from services.pricing.money import PRICING_CONTEXT

_ZERO = Decimal(0)


class Verdict(enum.Enum):
    """What became of a considered rule before its discounts are computed."""

    MET = "met"
    NOT_MET = "not_met"
    #: Not met because a discount-triggers provider it depends on failed.
    PROVIDER_FAILED = "provider_failed"
    #: Its usage limit is reached once other checkouts' reservations are counted.
    RESERVED = "reserved"


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    verdict: Verdict


@dataclass(frozen=True)
class CouponRequest:
    """The coupon code asked for, what it names (None: no such coupon), and the uses other
    checkouts' reservations hold of it."""

    code: str
    coupon: Coupon | None
    held_by_others: int = 0


@dataclass(frozen=True)
class Request:
    lines: tuple[Line, ...]
    currency: str
    now: datetime
    stacking: StackingPolicy = StackingPolicy.STACK_ALL
    #: The caller's subtotal before discounts; None: the sum of the lines.
    subtotal: Decimal | None = None
    shipping_amount: Decimal | None = None

    @property
    def effective_subtotal(self) -> Decimal:
        if self.subtotal is not None:
            return self.subtotal
        return sum((line.total for line in self.lines), _ZERO)


def _apply_rule(rule: Rule, indexed: LineIndex, units: list[LineUnits]) -> dict[int, Take]:
    """Take the rule's discounts off `units` in place: line index -> what it took (exact).

    A rule's discounts may target the same units; their unit counts are added up to at most the
    line's quantity (a count of units discounted, not of distinct units)."""
    taken: dict[int, Take] = {}
    definition = rule.definition
    lines = indexed.lines
    for discount in definition.discounts:
        for claim in claims(discount, definition.applies_to, indexed):
            take = units[claim.index].take(claim.count, claim.per_unit)
            if take.amount > 0:
                before = taken.get(claim.index)
                if before is None:
                    taken[claim.index] = take
                    continue
                taken[claim.index] = Take(
                    before.amount + take.amount,
                    min(before.units + take.units, lines[claim.index].quantity),
                )
    return taken


def _stack_all(
    met: Sequence[Rule], indexed: LineIndex, units: list[LineUnits], ledger: Ledger
) -> dict[str, RuleResult]:
    results: dict[str, RuleResult] = {}
    for rule in met:
        total, line_ids = _ZERO, []
        for index, take in sorted(_apply_rule(rule, indexed, units).items()):
            amount = ledger.book(index, SourceKind.RULE, rule.id, take.amount, take.units)
            if amount > 0:
                total += amount
                line_ids.append(indexed.lines[index].id)
        outcome = Outcome.APPLIED if total > 0 else Outcome.NOTHING_TO_DISCOUNT
        results[rule.id] = RuleResult(rule, outcome, total, tuple(line_ids))
    return results


def _best_per_item(
    met: Sequence[Rule], indexed: LineIndex, units: list[LineUnits], ledger: Ledger
) -> dict[str, RuleResult]:
    lines = indexed.lines
    # Each rule on its own, on fresh units: what would it take off each line?
    alone: list[tuple[Rule, list[LineUnits], dict[int, Take]]] = []
    for rule in met:
        own = [u.copy() for u in units]
        alone.append((rule, own, _apply_rule(rule, indexed, own)))
    winners: dict[int, int] = {}
    for index in range(len(lines)):
        best, best_amount = None, _ZERO
        for position, (_, _, taken) in enumerate(alone):
            rounded = ledger.rounded(taken[index].amount) if index in taken else _ZERO
            if rounded > best_amount:  # strictly more: ties stay with the older rule
                best, best_amount = position, rounded
        if best is not None:
            winners[index] = best
    results: dict[str, RuleResult] = {}
    for position, (rule, own, taken) in enumerate(alone):
        total, line_ids = _ZERO, []
        for index in sorted(i for i, winner in winners.items() if winner == position):
            amount = ledger.book(
                index, SourceKind.RULE, rule.id, taken[index].amount, taken[index].units
            )
            units[index] = own[index]
            if amount > 0:
                total += amount
                line_ids.append(lines[index].id)
        if total > 0:
            outcome = Outcome.APPLIED
        elif any(ledger.rounded(take.amount) > 0 for take in taken.values()):
            outcome = Outcome.OUTDONE
        else:
            outcome = Outcome.NOTHING_TO_DISCOUNT
        results[rule.id] = RuleResult(rule, outcome, total, tuple(line_ids))
    return results


def _coupon_error(request: Request, asked: CouponRequest) -> CouponError | None:
    problem = coupon_usable(asked.coupon, request.now, asked.held_by_others)
    if problem is None:
        assert asked.coupon is not None
        definition = asked.coupon.definition
        minimum = definition.minimum_subtotal
        if minimum is not None and request.effective_subtotal < minimum:
            problem = CouponProblem.MINIMUM_SUBTOTAL_NOT_MET
            return CouponError(problem, describe(problem, asked.code), minimum)
        if not coupons.lines_in_scope(definition, request.lines):
            problem = CouponProblem.NOT_APPLICABLE
    if problem is None:
        return None
    return CouponError(problem, describe(problem, asked.code))


def evaluate(
    request: Request,
    candidates: Sequence[Candidate],
    coupon: CouponRequest | None,
    indexed: LineIndex | None = None,
) -> Evaluation:
    """Apply the rules (already ordered oldest first) and the coupon to the request's lines
    (`indexed`: the caller's index of them, if it has one)."""
    lines = request.lines
    met = [c.rule for c in candidates if c.verdict is Verdict.MET]
    if not met and coupon is None:
        # Nothing can take anything off (most carts of most stores): no units, no ledger.
        return _nothing_off(lines, candidates)
    units = [LineUnits(line) for line in lines]
    ledger = Ledger(lines, request.currency)
    with localcontext(PRICING_CONTEXT):
        if indexed is None or indexed.lines != lines:
            indexed = LineIndex(lines)
        if request.stacking is StackingPolicy.BEST_PER_ITEM:
            applied = _best_per_item(met, indexed, units, ledger)
        else:
            applied = _stack_all(met, indexed, units, ledger)
        coupon_result, coupon_error = None, None
        if coupon is not None:
            coupon_error = _coupon_error(request, coupon)
            if coupon_error is None:
                assert coupon.coupon is not None
                coupon_result = coupons.apply(
                    coupon.coupon, lines, request.shipping_amount, units, ledger
                )
    rules = tuple(
        applied[c.rule.id] if c.verdict is Verdict.MET else _not_applied(c) for c in candidates
    )
    line_results = tuple(
        LineDiscount(line.id, sum((p.amount for p in parts), _ZERO), tuple(parts))
        for line, parts in zip(lines, ledger.parts, strict=True)
    )
    total = sum((result.total for result in line_results), _ZERO)
    return Evaluation(line_results, rules, coupon_result, coupon_error, total)


_OUTCOMES = {
    Verdict.NOT_MET: Outcome.TRIGGER_NOT_MET,
    Verdict.PROVIDER_FAILED: Outcome.TRIGGER_PROVIDER_FAILED,
    Verdict.RESERVED: Outcome.USAGE_LIMIT_RESERVED,
}


def _not_applied(candidate: Candidate) -> RuleResult:
    return RuleResult(candidate.rule, _OUTCOMES[candidate.verdict], _ZERO)


def _nothing_off(lines: Sequence[Line], candidates: Sequence[Candidate]) -> Evaluation:
    return Evaluation(
        tuple(LineDiscount(line.id, _ZERO, ()) for line in lines),
        tuple(_not_applied(c) for c in candidates),
        None,
        None,
        _ZERO,
    )

"""The evaluation: stacking both ways, caps, rounding, coupons on what rules left, and the
invariants every result keeps (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.discounts.domain.evaluation import (
    Candidate,
    CouponRequest,
    Request,
    Verdict,
    evaluate,
)
from services.discounts.domain.lines import Line
from services.discounts.domain.model import (
    AmountKind,
    AppliesTo,
    CouponKind,
    Rule,
    StackingPolicy,
)
from services.discounts.domain.results import AppliedType, Evaluation, Outcome
from services.pricing.money import quantize
from tests.unit.discounts.builders import (
    NOW,
    buy_get,
    coupon,
    line,
    percent,
    rule,
    scope,
    specific,
)


def _run(
    lines: tuple[Line, ...],
    rules: list[Rule],
    *,
    stacking: StackingPolicy = StackingPolicy.STACK_ALL,
    asked: CouponRequest | None = None,
    currency: str = "USD",
    shipping: str | None = None,
) -> Evaluation:
    request = Request(
        lines,
        currency,
        NOW,
        stacking,
        shipping_amount=Decimal(shipping) if shipping is not None else None,
    )
    return evaluate(request, [Candidate(r, Verdict.MET) for r in rules], asked)


def _totals(result: Evaluation) -> list[str]:
    return [str(line.total) for line in result.lines]


def test_rounded_parts_never_take_a_line_below_zero() -> None:
    # 0.03 x 50% = 0.015 -> 0.02 twice would be 0.04 > 0.03: the second part is cut to 0.01.
    result = _run((line("a", "0.03"),), [rule("r1", percent("50")), rule("r2", percent("50"))])
    assert [str(p.amount) for p in result.lines[0].parts] == ["0.02", "0.01"]
    assert result.total_discount == Decimal("0.03")


def test_stack_all_caps_each_unit_not_the_line() -> None:
    # r1 frees one unit (lowest priced); r2 takes 50% of every unit, cut to 0 on the free one.
    lines = (line("a", "10.00", 3),)
    first = rule("r1", percent("100"), applies_to=AppliesTo.LOWEST_PRICED_ITEM)
    second = rule("r2", percent("50"))
    result = _run(lines, [first, second])
    assert [(str(p.amount), p.units) for p in result.lines[0].parts] == [("10.00", 1), ("10.00", 2)]


def test_best_per_item_picks_per_line_and_keeps_the_older_rule_on_ties() -> None:
    lines = (line("a", "10.00"), line("b", "10.00"))
    older = rule("older", percent("20"))
    newer = rule("newer", percent("20", "a"), percent("10", "b"))
    result = _run(lines, [older, newer], stacking=StackingPolicy.BEST_PER_ITEM)
    assert [(r.rule.id, r.outcome) for r in result.rules] == [
        ("older", Outcome.APPLIED),
        ("newer", Outcome.OUTDONE),
    ]
    assert _totals(result) == ["2.00", "2.00"]
    # A rule with several discounts counts as one: 20% + 10% on "a" beats 25% there.
    two = rule("two", percent("20", "a"), percent("10", "a"))
    result = _run(
        lines, [rule("quarter", percent("25")), two], stacking=StackingPolicy.BEST_PER_ITEM
    )
    assert _totals(result) == ["3.00", "2.50"]


def test_rules_taking_nothing_are_reported() -> None:
    lines = (line("a", "4.00"),)
    result = _run(lines, [rule("free", percent("100")), rule("late", percent("10"))])
    assert [r.outcome for r in result.rules] == [Outcome.APPLIED, Outcome.NOTHING_TO_DISCOUNT]
    fixed = _run(lines, [rule("fixed", specific(AmountKind.FIXED_PRICE, "5"))])
    assert fixed.rules[0].outcome is Outcome.NOTHING_TO_DISCOUNT


def test_coupon_checks_in_the_contract_order() -> None:
    lines = (line("a", "10.00"),)

    def problem(**definition: Any) -> str:
        made = coupon(CouponKind.PERCENT_OFF_RATE, "10", **definition)
        result = _run(lines, [], asked=CouponRequest("C", made, held_by_others=0))
        return result.coupon_error.problem.code if result.coupon_error else ""

    assert problem() == ""
    assert problem(active=False, minimum_subtotal=Decimal(50)) == "COUPON_INACTIVE"
    assert problem(minimum_subtotal=Decimal(50), scope=scope("other")) == (
        "COUPON_MINIMUM_SUBTOTAL_NOT_MET"
    )
    assert problem(scope=scope("other")) == "COUPON_NOT_APPLICABLE"
    assert problem(usage_limit=2) == ""
    held = _run(
        lines, [], asked=CouponRequest("C", coupon(CouponKind.FREE_SHIPPING, usage_limit=2), 2)
    )
    assert held.coupon_error is not None
    assert held.coupon_error.problem.code == "COUPON_USAGE_EXHAUSTED"
    unknown = _run(lines, [], asked=CouponRequest("nope", None))
    assert (
        unknown.coupon_error is not None and unknown.coupon_error.problem.code == "COUPON_NOT_FOUND"
    )


def test_coupon_applies_to_what_rules_left() -> None:
    lines = (line("a", "10.00", 2), line("b", "30.00"))
    rules = [rule("r", percent("100"), applies_to=AppliesTo.LOWEST_PRICED_ITEM)]  # frees one "a"
    one = coupon(CouponKind.PERCENT_OFF_RATE, "50", limited_to_one_item=True)
    result = _run(lines, rules, asked=CouponRequest("C", one))
    assert _totals(result) == ["10.00", "15.00"]  # the most expensive unit left is "b"
    assert result.coupon is not None and result.coupon.applied_type is AppliedType.SPECIFIC_ITEMS
    each = coupon(CouponKind.FIXED_PRICE_AMOUNT, "4")
    result = _run(lines, rules, asked=CouponRequest("C", each))
    # "a": one free unit stays 0, the other 10 -> 4; "b": 30 -> 4.
    assert _totals(result) == ["16.00", "26.00"]
    money = coupon(CouponKind.MONEY_OFF_AMOUNT, "100")
    result = _run(lines, rules, asked=CouponRequest("C", money))
    assert _totals(result) == ["20.00", "30.00"]
    assert result.coupon is not None and result.coupon.amount == Decimal("40.00")
    assert result.coupon.applied_type is AppliedType.GLOBAL


def test_free_shipping() -> None:
    made = coupon(CouponKind.FREE_SHIPPING)
    result = _run((line("a", "10.00"),), [], asked=CouponRequest("C", made), shipping="4.995")
    assert result.coupon is not None and result.coupon.free_shipping
    assert result.coupon.shipping_discount == Decimal("5.00")
    assert result.total_discount == 0
    unknown_price = _run((line("a", "10.00"),), [], asked=CouponRequest("C", made))
    assert unknown_price.coupon is not None and unknown_price.coupon.shipping_discount == 0


def test_verdicts_become_outcomes() -> None:
    lines = (line("a", "10.00"),)
    rules = [rule(name, percent("10")) for name in ("met", "not", "failed", "held")]
    verdicts = [Verdict.MET, Verdict.NOT_MET, Verdict.PROVIDER_FAILED, Verdict.RESERVED]
    result = evaluate(
        Request(lines, "USD", NOW),
        [Candidate(r, v) for r, v in zip(rules, verdicts, strict=True)],
        None,
    )
    assert [r.outcome for r in result.rules] == [
        Outcome.APPLIED,
        Outcome.TRIGGER_NOT_MET,
        Outcome.TRIGGER_PROVIDER_FAILED,
        Outcome.USAGE_LIMIT_RESERVED,
    ]


# -- invariants ----------------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=500, places=2).map(str)
kinds = st.sampled_from([AmountKind.PERCENTAGE, AmountKind.FIXED_AMOUNT, AmountKind.FIXED_PRICE])


@st.composite
def discounts(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    kind = draw(kinds)
    value = draw(
        st.decimals(min_value="0.5", max_value=100, places=1)
        if kind is AmountKind.PERCENTAGE
        else st.decimals(min_value="0.01", max_value=200, places=2)
    )
    if draw(st.booleans()):
        return buy_get(draw(st.integers(1, 3)), draw(st.integers(1, 2)), kind, str(value))
    items = draw(st.lists(st.sampled_from(["i0", "i1", "i2", "i3"]), max_size=2))
    return specific(kind, str(value), *items)


@settings(max_examples=150, deadline=None)
@given(
    line_specs=st.lists(st.tuples(prices, st.integers(1, 6)), min_size=1, max_size=4),
    rule_specs=st.lists(
        st.tuples(st.lists(discounts(), min_size=1, max_size=2), st.booleans()), max_size=4
    ),
    stacking=st.sampled_from(list(StackingPolicy)),
    coupon_kind=st.sampled_from([None, *CouponKind]),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_every_result_adds_up_and_stays_within_the_lines(  # type: ignore[no-untyped-def]
    line_specs, rule_specs, stacking, coupon_kind, currency
) -> None:
    lines = tuple(
        line(f"l{i}", price, quantity, item=f"i{i}")
        for i, (price, quantity) in enumerate(line_specs)
    )
    rules = [
        rule(
            f"r{i}",
            *values,
            applies_to=AppliesTo.LOWEST_PRICED_ITEM if lowest else AppliesTo.ALL_ITEMS,
        )
        for i, (values, lowest) in enumerate(rule_specs)
    ]
    asked = None
    if coupon_kind is not None:
        asked = CouponRequest("C", coupon(coupon_kind, "7.5", limited_to_one_item=len(lines) > 2))
    result = _run(lines, rules, stacking=stacking, asked=asked, currency=currency)

    total = Decimal(0)
    for source, got in zip(lines, result.lines, strict=True):
        assert got.line_id == source.id
        assert all(part.amount > 0 for part in got.parts)
        assert got.total == sum((p.amount for p in got.parts), Decimal(0))
        assert 0 <= got.total <= quantize(source.total, currency)
        assert got.total == quantize(got.total, currency)
        total += got.total
    assert result.total_discount == total
    by_rule = {r.rule.id: r for r in result.rules}
    for rule_result in result.rules:
        parts = [
            p.amount for d in result.lines for p in d.parts if p.source_id == rule_result.rule.id
        ]
        assert rule_result.amount == sum(parts, Decimal(0))
        assert (rule_result.outcome is Outcome.APPLIED) == (rule_result.amount > 0)
    if stacking is StackingPolicy.BEST_PER_ITEM:
        for got in result.lines:
            assert len({p.source_id for p in got.parts if p.source_id in by_rule}) <= 1

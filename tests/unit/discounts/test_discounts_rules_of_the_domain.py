"""Validation paths, derived status, usage decisions, masks and page tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from services.discounts.domain.model import (
    AllOf,
    AnyOf,
    CouponKind,
    QuantityRange,
    RuleStatus,
    Scope,
    ScopeKind,
    SubtotalRange,
    Trigger,
)
from services.discounts.domain.queries import (
    RuleFilter,
    SortKey,
    decode_token,
    encode_token,
    fingerprint,
    page_size,
)
from services.discounts.domain.status import CouponProblem, coupon_usable, rule_status
from services.discounts.domain.updates import (
    RULE_OUTPUT_ONLY,
    RULE_PATHS,
    mask_problems,
    merge_coupon,
    merge_rule,
)
from services.discounts.domain.usage import (
    reached_through,
    rules_exhausted,
    rules_not_live,
    usage_fingerprint,
)
from services.discounts.domain.validation import coupon_problems, rule_problems, rule_scopes
from services.platform.errors import FieldViolation, InvalidArgument
from tests.unit.discounts.builders import NOW, coupon, percent, rule, scope


def _paths(problems: list[FieldViolation]) -> set[str]:
    return {p.field for p in problems}


def test_rule_problems_name_proto_paths() -> None:
    deep: Trigger = QuantityRange((), 0, 0)
    for _ in range(5):
        deep = AllOf((deep,))
    definition = rule(
        "r",
        percent("0"),
        trigger=AnyOf((deep, SubtotalRange((), None, None))),
        usage_limit=0,
        start=NOW,
        end=NOW,
    ).definition
    assert _paths(rule_problems(replace(definition, name="x" * 101))) == {
        "name",
        "active_time_info.end",
        "trigger.any_of.triggers[0]" + ".all_of.triggers[0]" * 4,
        "trigger.any_of.triggers[1].subtotal_range",
        "discounts.values[0].percentage",
        "settings.usage_limit",
    }
    duplicate = rule("r", percent("5", "a"), percent("5", "a")).definition
    assert _paths(rule_problems(duplicate)) == {
        "discounts.values[1].specific_items_info.scopes[0].id"
    }
    assert [path for path, _ in rule_scopes(duplicate)] == [
        "discounts.values[0].specific_items_info.scopes[0]",
        "discounts.values[1].specific_items_info.scopes[0]",
    ]


def test_coupon_problems() -> None:
    good = coupon(CouponKind.MONEY_OFF_AMOUNT, "5", code="SAVE5").definition
    assert coupon_problems(good) == []
    big = Scope("s", ScopeKind.CUSTOM_FILTER, "app", params={"k": "x" * 9000})
    assert _paths(coupon_problems(replace(good, code="a b", scope=big, value=Decimal(0)))) == {
        "code",
        "scope.custom_filter.params",
        "money_off_amount",
    }
    assert _paths(coupon_problems(replace(good, kind=None))) == {"discount"}


def test_status_precedence() -> None:
    definition = rule("r", percent("5"), usage_limit=2).definition
    assert rule_status(definition, 1, NOW) is RuleStatus.LIVE
    assert rule_status(definition, 2, NOW) is RuleStatus.EXPIRED
    later = replace(definition, start=NOW + timedelta(days=1))
    assert rule_status(later, 0, NOW) is RuleStatus.PENDING
    assert rule_status(later, 2, NOW) is RuleStatus.EXPIRED  # expired wins
    assert rule_status(replace(definition, end=NOW), 0, NOW) is RuleStatus.EXPIRED  # end exclusive
    assert rule_status(replace(definition, start=NOW), 0, NOW) is RuleStatus.LIVE  # start inclusive


def test_coupon_usability_order() -> None:
    made = coupon(CouponKind.FREE_SHIPPING, usage_limit=1, active=False, start=NOW + timedelta(1))
    assert coupon_usable(made, NOW, 5) is CouponProblem.INACTIVE
    on = replace(made, definition=replace(made.definition, active=True))
    assert coupon_usable(on, NOW, 5) is CouponProblem.NOT_ACTIVE_YET
    started = replace(on, definition=replace(on.definition, start=None, expiration=NOW))
    assert coupon_usable(started, NOW, 0) is CouponProblem.EXPIRED
    fresh = replace(started, definition=replace(started.definition, expiration=None))
    assert coupon_usable(fresh, NOW, 1) is CouponProblem.USAGE_EXHAUSTED
    assert coupon_usable(fresh, NOW, 0) is None


def test_usage_decisions() -> None:
    limited = rule("limited", percent("5"), usage_limit=3, usage_count=1)
    off = rule("off", percent("5"), active=False)
    assert rules_not_live(["limited", "off", "gone"], {"limited": limited, "off": off}, NOW) == [
        "off",
        "gone",
    ]
    assert rules_exhausted([limited], {"limited": 1}) == []
    assert rules_exhausted([limited], {"limited": 2}) == ["limited"]
    assert (
        reached_through(3, 2, 3)
        and not reached_through(3, 3, 4)
        and not reached_through(None, 0, 9)
    )
    assert usage_fingerprint(["b", "a", "a"], " Summer ") == usage_fingerprint(["a", "b"], "summer")
    assert usage_fingerprint(["a"], "") != usage_fingerprint(["a"], "X")


def test_masks_and_merges() -> None:
    assert mask_problems(["name", "settings.usage_limit"], RULE_PATHS, RULE_OUTPUT_ONLY) == []
    assert _paths(mask_problems(["status", "nope"], RULE_PATHS, RULE_OUTPUT_ONLY)) == {
        "update_mask"
    }
    current = rule("r", percent("5"), usage_limit=5).definition
    incoming = rule("new", percent("9"), usage_limit=None).definition
    merged = merge_rule(current, incoming, frozenset({"name", "settings.usage_limit"}))
    assert (merged.name, merged.usage_limit, merged.discounts) == ("new", None, current.discounts)
    old = coupon(CouponKind.MONEY_OFF_AMOUNT, "5").definition
    new = coupon(CouponKind.PERCENT_OFF_RATE, "10", code="NEW").definition
    swapped = merge_coupon(old, new, frozenset({"percent_off_rate"}))
    assert (swapped.code, swapped.kind) == ("C", CouponKind.PERCENT_OFF_RATE)
    assert swapped.value == Decimal(10)


def test_page_tokens_belong_to_their_query() -> None:
    sort = (SortKey(1),)
    mine = fingerprint(RuleFilter(active=True), sort)
    token = encode_token(["alpha", "id-1"], mine)
    assert decode_token(token, mine, 2) == ("alpha", "id-1")
    for bad_token, print_ in (
        (token, fingerprint(RuleFilter(), sort)),
        ("not base64!", mine),
        (encode_token([True, "id"], mine), mine),
    ):
        with pytest.raises(InvalidArgument):
            decode_token(bad_token, print_, 2)
    assert page_size(0) == 50 and page_size(500) == 100
    with pytest.raises(InvalidArgument):
        page_size(-1)
    assert scope("x").catalog_item_id == "x"

"""The recommendations rules in plain Python: what an order contributes, windows, request
validation, filtering and judging."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.platform.errors import InvalidArgument
from services.recommendations.domain import (
    AlgorithmName,
    ItemKey,
    OrderLine,
    Ref,
    Skipped,
    SkipReason,
    Yielded,
    bucket_day,
    builtin_algorithms,
    check_query,
    judge,
    order_facts,
    window_start,
    without_repeats,
)

WHEN = datetime(2025, 11, 27, 23, 30, tzinfo=UTC)


def fields(exc: InvalidArgument) -> set[str]:
    return {v.field for v in exc.violations}


def test_an_order_merges_variants_and_skips_custom_lines() -> None:
    facts = order_facts(
        "s",
        "o",
        WHEN,
        [
            OrderLine(Ref("cat", "shirt", {"variantId": "s"}), 1),
            OrderLine(Ref("cat", "shirt", {"variantId": "m"}), 2),
            OrderLine(Ref("cat", "shirt", {"variantId": "s"}), 1),
            OrderLine(Ref("cat", "mug"), 3),
            OrderLine(Ref("", ""), 5),  # custom line
            OrderLine(Ref("cat", "x" * 501), 1),  # an id longer than the statistics keep
        ],
    )
    assert facts.units == {ItemKey("cat", "shirt"): 4, ItemKey("cat", "mug"): 3}
    assert facts.variants == {ItemKey("cat", "shirt"): ({"variantId": "s"}, {"variantId": "m"})}
    assert facts.day == date(2025, 11, 27)
    assert facts.pairs() == [
        (ItemKey("cat", "mug"), ItemKey("cat", "shirt")),
        (ItemKey("cat", "shirt"), ItemKey("cat", "mug")),
    ]


def test_the_same_item_id_in_two_catalogs_is_two_items() -> None:
    facts = order_facts("s", "o", WHEN, [OrderLine(Ref("a", "1"), 1), OrderLine(Ref("b", "1"), 1)])
    assert len(facts.units) == 2 and len(facts.pairs()) == 2


def test_days_are_utc_days() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert bucket_day(datetime(2025, 11, 28, 8, 0, tzinfo=tokyo)) == date(2025, 11, 27)
    assert window_start(date(2025, 11, 27), 1) == date(2025, 11, 27)
    assert window_start(date(2025, 11, 27), 30) == date(2025, 10, 29)
    with pytest.raises(ValueError):
        window_start(date(2025, 11, 27), 0)


def test_references_compare_as_json_values() -> None:
    first = Ref("cat", "shirt", {"options": {"Size": "M", "Color": "Red"}})
    second = Ref("cat", "shirt", {"options": {"Color": "Red", "Size": "M"}})
    assert first.key == second.key
    assert first.key != Ref("cat", "shirt").key
    assert first.item == Ref.bare(ItemKey("cat", "shirt")).item


def test_filtering_drops_repeats_and_the_requested_items() -> None:
    refs = [
        Ref("cat", "a"),
        Ref("cat", "b", {"variantId": "1"}),
        Ref("cat", "c"),
        Ref("cat", "a"),
        Ref("cat", "a", {"variantId": "2"}),
        Ref("other", "b"),
    ]
    kept = without_repeats(refs, frozenset({ItemKey("cat", "b")}))
    assert [r.key for r in kept] == [
        Ref("cat", "a").key,
        Ref("cat", "c").key,
        Ref("cat", "a", {"variantId": "2"}).key,
        Ref("other", "b").key,
    ]


@pytest.mark.parametrize(
    ("items", "algorithms", "minimum", "expected"),
    [
        ([], [], 0, {"algorithms"}),
        ([], [AlgorithmName("", "")], 0, {"algorithms[0].app_id", "algorithms[0].algorithm_id"}),
        ([], [AlgorithmName("a", "b")] * 11, 0, {"algorithms"}),
        (
            [Ref("", "x"), Ref("c", "")],
            [AlgorithmName("a", "b")],
            0,
            {"items[0].app_id", "items[1].catalog_item_id"},
        ),
        ([Ref("c", "x")] * 101, [AlgorithmName("a", "b")], 0, {"items"}),
        ([], [AlgorithmName("a", "b")], 101, {"minimum_recommended_items"}),
        ([], [AlgorithmName("a", "b")], -1, {"minimum_recommended_items"}),
    ],
)
def test_bad_queries_name_every_field(
    items: list[Ref], algorithms: list[AlgorithmName], minimum: int, expected: set[str]
) -> None:
    with pytest.raises(InvalidArgument) as failure:
        check_query(items, algorithms, minimum)
    assert fields(failure.value) == expected


def test_a_minimum_of_zero_means_one() -> None:
    assert check_query([], [AlgorithmName("a", "b")], 0) == 1
    assert check_query([Ref("c", "x")] * 100, [AlgorithmName("a", "b")] * 10, 100) == 100


def test_judging_against_the_minimum() -> None:
    two = Yielded((Ref("c", "a"), Ref("c", "b")))
    assert judge(two, 2) == two
    assert judge(two, 3) == Skipped(SkipReason.NOT_ENOUGH_ITEMS, 2)
    gone = Skipped(SkipReason.PROVIDER_UNAVAILABLE)
    assert judge(gone, 1) == gone


def test_the_built_ins_describe_their_windows() -> None:
    together, best = builtin_algorithms(60, 7)
    assert (together.algorithm_id, best.algorithm_id) == (
        "FREQUENTLY_BOUGHT_TOGETHER",
        "BEST_SELLERS",
    )
    assert "60 days" in together.additional_info and "7 days" in best.additional_info
    assert together.accepts(Ref("any", "x"))

"""Which units discounts target: lowest priced item, and buy-X-get-Y rounds (also on lines of
100000 units, which must not be walked unit by unit)."""

from __future__ import annotations

import time
from decimal import Decimal

from services.discounts.domain.model import AmountKind, AppliesTo, BuyXGetY
from services.discounts.domain.targeting import buy_x_get_y_rounds, claims, per_unit
from tests.unit.discounts.builders import line, percent, scope


def _offer(
    buy: int,
    get: int,
    limit: int = 0,
    buy_items: tuple[str, ...] = (),
    get_items: tuple[str, ...] = (),
) -> BuyXGetY:
    return BuyXGetY(
        buy,
        tuple(scope(i) for i in buy_items) or (scope(),),
        get,
        tuple(scope(i) for i in get_items) or (scope(),),
        limit,
    )


def test_per_unit_amounts_never_exceed_the_price() -> None:
    price = Decimal("8.00")
    assert per_unit(AmountKind.PERCENTAGE, Decimal("12.5"), price) == Decimal("1.00")
    assert per_unit(AmountKind.FIXED_AMOUNT, Decimal("10"), price) == price
    assert per_unit(AmountKind.FIXED_PRICE, Decimal("5"), price) == Decimal("3.00")
    assert per_unit(AmountKind.FIXED_PRICE, Decimal("9"), price) == 0


def test_lowest_priced_item_takes_one_unit_of_the_first_cheapest_line() -> None:
    lines = (line("a", "9.00", 3), line("b", "4.00", 2), line("c", "4.00", 5))
    found = claims(percent("50"), AppliesTo.LOWEST_PRICED_ITEM, lines)
    assert [(c.index, c.count, c.per_unit) for c in found] == [(1, 1, Decimal("2.00"))]
    everyone = claims(percent("50"), AppliesTo.ALL_ITEMS, lines)
    assert [(c.index, c.count) for c in everyone] == [(0, 3), (1, 2), (2, 5)]


def test_rounds_take_the_most_expensive_buys_and_the_cheapest_gets() -> None:
    lines = (
        line("bag", "45.00"),
        line("shirt", "20.00"),
        line("mug", "9.99"),
        line("sock", "3.50", 3),
    )
    assert buy_x_get_y_rounds(_offer(2, 1), lines) == {3: 2}  # two rounds, each gets a sock
    assert buy_x_get_y_rounds(_offer(2, 1, limit=1), lines) == {3: 1}
    assert buy_x_get_y_rounds(_offer(2, 3), lines) == {3: 3}  # bag + shirt buy all 3 socks
    # A round needs both sides complete: 5 bought leaves 1 unit, not the 2 to get.
    assert buy_x_get_y_rounds(_offer(5, 2), lines) == {}
    only_shirts = _offer(1, 1, buy_items=("shirt",), get_items=("sock",))
    assert buy_x_get_y_rounds(only_shirts, lines) == {3: 1}


def test_one_line_can_be_both_sides() -> None:
    assert buy_x_get_y_rounds(_offer(2, 1), (line("sock", "3.50", 7),)) == {0: 2}
    assert buy_x_get_y_rounds(_offer(2, 1), (line("sock", "3.50", 2),)) == {}
    # Ties in price go to the earlier line, on both sides.
    tied = (line("a", "5.00", 1), line("b", "5.00", 1))
    assert buy_x_get_y_rounds(_offer(1, 1), tied) == {1: 1}


def test_huge_lines_are_computed_in_bulk() -> None:
    lines = tuple(line(f"l{i}", f"{i + 1}.00", 100_000) for i in range(300))
    started = time.perf_counter()
    got = buy_x_get_y_rounds(_offer(3, 2), lines)
    assert time.perf_counter() - started < 2.0
    assert sum(got.values()) == (300 * 100_000 // 5) * 2
    limited = buy_x_get_y_rounds(_offer(3, 2, limit=7), lines)
    assert sum(limited.values()) == 14

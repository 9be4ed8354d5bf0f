"""`Remembered`: the discounts of a write's prediction, answered again without a second call."""

from __future__ import annotations

from decimal import Decimal

from ecom.common.v1 import calculation_pb2
from services.cart.prefetch import Remembered
from services.discounts.client import DiscountLine, DiscountsQuery, DiscountsResult


class Counting:
    """A `Discounts` answering from a table, counting the questions."""

    def __init__(self, *, failing: bool = False) -> None:
        self.asked: list[DiscountsQuery] = []
        self._failing = failing

    async def evaluate(
        self, site: str, query: DiscountsQuery, *, remaining_s: float | None
    ) -> DiscountsResult:
        self.asked.append(query)
        if self._failing:
            error = calculation_pb2.CalculationError(code="DISCOUNTS_UNAVAILABLE")
            return DiscountsResult(discounts_error=error)
        return DiscountsResult(coupon_code=f"{site}:{len(query.lines)}")


def _query(quantity: int, coupon: str = "") -> DiscountsQuery:
    line = DiscountLine("line-1", "ecom.catalog", "item-1", quantity, Decimal("9.99"))
    return DiscountsQuery(lines=[line], coupon_code=coupon, currency="USD")


async def test_the_same_question_is_answered_from_memory() -> None:
    inner = Counting()
    remembered = Remembered(inner)
    first = await remembered.evaluate("s", _query(2), remaining_s=None)
    again = await remembered.evaluate("s", _query(2), remaining_s=1.0)
    assert again is first and len(inner.asked) == 1


async def test_a_different_question_is_asked_for_real() -> None:
    inner = Counting()
    remembered = Remembered(inner)
    await remembered.evaluate("s", _query(2), remaining_s=None)
    await remembered.evaluate("s", _query(3), remaining_s=None)  # a concurrent writer's change
    await remembered.evaluate("s", _query(3, coupon="SAVE"), remaining_s=None)
    await remembered.evaluate("other", _query(3, coupon="SAVE"), remaining_s=None)
    assert len(inner.asked) == 4


async def test_a_failed_answer_is_not_remembered() -> None:
    inner = Counting(failing=True)
    remembered = Remembered(inner)
    await remembered.evaluate("s", _query(2), remaining_s=None)
    await remembered.evaluate("s", _query(2), remaining_s=None)
    assert len(inner.asked) == 2

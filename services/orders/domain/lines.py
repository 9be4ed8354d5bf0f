"""Order line quantities: what is left to refund and to restock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from services.platform import errors

MAX_QUANTITY = 100_000


@dataclass(frozen=True)
class LineFacts:
    id: str
    quantity: int
    refund_quantity: int
    restock_quantity: int
    #: The inventory provider's app id (the catalog's); empty for custom lines.
    app_id: str = ""

    @property
    def refundable(self) -> int:
        return self.quantity - self.refund_quantity

    @property
    def restockable(self) -> int:
        return self.quantity - self.restock_quantity


class _Item(Protocol):
    @property
    def line_item_id(self) -> str: ...

    @property
    def quantity(self) -> int: ...


def quantity_violations(problems: errors.Violations, path: str, items: Iterable[_Item]) -> None:
    """Each item names a line once, with a quantity of at least 1."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not item.line_item_id:
            problems.add(f"{path}[{index}].line_item_id", "required")
        elif item.line_item_id in seen:
            problems.add(f"{path}[{index}].line_item_id", "names a line given before")
        seen.add(item.line_item_id)
        if item.quantity < 1:
            problems.add(f"{path}[{index}].quantity", "must be at least 1")


def restock_all(lines: Iterable[LineFacts]) -> dict[str, int]:
    """CancelOrder with restock_all_items: every line's units not restocked before."""
    return {line.id: line.restockable for line in lines if line.restockable > 0}

"""The lines a cart or checkout asks discounts for, and which scopes they fall in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.discounts.domain.model import Scope, ScopeKind


@dataclass(frozen=True)
class Line:
    """One line of `GetAppliedDiscounts`: just what discounts depend on."""

    id: str
    app_id: str
    catalog_item_id: str
    quantity: int
    #: Unit price after catalog sales, before any discount (may have sub-unit digits).
    price: Decimal
    root_catalog_item_id: str = ""
    #: (app id, params) pairs for CUSTOM_FILTER scopes, as the caller attached them.
    custom_data: tuple[tuple[str, Mapping[str, Any]], ...] = field(default_factory=tuple)

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity


def _value_matches(wanted: Any, actual: Any) -> bool:
    if isinstance(wanted, list) and not isinstance(actual, list):
        return any(actual == option for option in wanted)
    return bool(wanted == actual)


def _params_match(wanted: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    return all(
        key in actual and _value_matches(value, actual[key]) for key, value in wanted.items()
    )


def matches(scope: Scope, line: Line) -> bool:
    """Whether `line` is in `scope` (CatalogItemFilter and CustomFilter in discount_rule.proto)."""
    if scope.kind is ScopeKind.CATALOG_ITEM:
        if line.app_id != scope.app_id:
            return False
        item = scope.catalog_item_id
        return not item or item in (line.catalog_item_id, line.root_catalog_item_id)
    return any(
        app_id == scope.app_id and _params_match(scope.params, params)
        for app_id, params in line.custom_data
    )


def in_any(scopes: Iterable[Scope], line: Line) -> bool:
    return any(matches(scope, line) for scope in scopes)


class LineIndex:
    """The lines of one evaluation, indexed for scope matching.

    Fifty rules over twenty lines ask "which lines are in these scopes?" a thousand times, mostly
    for catalog scopes: those become dictionary lookups by (app, item), and each scope list is
    resolved once per evaluation (rules keep their scope tuples alive for as long as this index
    lives, so their identity is a sound memo key)."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = tuple(lines)
        self._by_app: dict[str, list[int]] = {}
        self._by_item: dict[tuple[str, str], set[int]] = {}
        for i, line in enumerate(self.lines):
            self._by_app.setdefault(line.app_id, []).append(i)
            for item in {line.catalog_item_id, line.root_catalog_item_id} - {""}:
                self._by_item.setdefault((line.app_id, item), set()).add(i)
        self._memo: dict[int, tuple[Sequence[Scope], list[int]]] = {}
        self._sums: dict[int, tuple[Sequence[Scope], Decimal, int]] = {}
        #: All line indexes cheapest first and dearest first (made when first asked for).
        self._orders: tuple[list[int], list[int]] | None = None

    def _scope(self, scope: Scope) -> Iterable[int]:
        if scope.kind is ScopeKind.CATALOG_ITEM:
            if not scope.catalog_item_id:
                return self._by_app.get(scope.app_id, ())
            return self._by_item.get((scope.app_id, scope.catalog_item_id), ())
        return (i for i, line in enumerate(self.lines) if matches(scope, line))

    def indexes(self, scopes: Sequence[Scope]) -> list[int]:
        """Indexes of the lines in at least one of `scopes`, ascending; no scopes: every line."""
        if not scopes:
            return list(range(len(self.lines)))
        memo = self._memo.get(id(scopes))
        if memo is not None and memo[0] is scopes:
            return memo[1]
        found = sorted({i for scope in scopes for i in self._scope(scope)})
        self._memo[id(scopes)] = (scopes, found)
        return found

    def by_price(self, scopes: Sequence[Scope], *, dearest_first: bool) -> list[int]:
        """`indexes(scopes)` ordered by unit price, ties by request order: the lines are sorted
        once per evaluation, not once per buy-X-get-Y rule."""
        if self._orders is None:
            count = len(self.lines)
            cheapest = sorted(range(count), key=lambda i: (self.lines[i].price, i))
            dearest = sorted(range(count), key=lambda i: (-self.lines[i].price, i))
            self._orders = (cheapest, dearest)
        chosen = set(self.indexes(scopes))
        return [i for i in self._orders[dearest_first] if i in chosen]

    def matching(self, scopes: Sequence[Scope]) -> list[Line]:
        return [self.lines[i] for i in self.indexes(scopes)]

    def sums(self, scopes: Sequence[Scope]) -> tuple[Decimal, int]:
        """Subtotal (price times quantity) and units of the lines in `scopes` (memoized)."""
        memo = self._sums.get(id(scopes))
        if memo is not None and memo[0] is scopes:
            return memo[1], memo[2]
        found = self.matching(scopes)
        amount = sum((line.total for line in found), Decimal(0))
        units = sum(line.quantity for line in found)
        self._sums[id(scopes)] = (scopes, amount, units)
        return amount, units


def index_of(lines: Sequence[Line] | LineIndex) -> LineIndex:
    return lines if isinstance(lines, LineIndex) else LineIndex(lines)


def matching(scopes: Sequence[Scope], lines: Sequence[Line] | LineIndex) -> list[Line]:
    """The lines in at least one of `scopes` (each once), in request order; no scopes: all."""
    return index_of(lines).matching(scopes)

"""Pieces the discounts repositories share: keyset conditions, ranges, the definition cache."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from services.discounts.domain.queries import Query, TimeRange

V = TypeVar("V")
#: Turns a value kept in a page token back into what its sort column compares with.
TokenValue = Callable[[int, Any], Any]

#: Stands in for "no expiration" in sort keys: after every real date.
FAR_FUTURE = datetime.fromisoformat("9999-12-31T00:00:00+00:00")


def after(columns: Sequence[tuple[Any, bool]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `columns` ((column, descending) pairs, the
    last being the id): the keyset condition of a page token."""
    alternatives = []
    for i, (column, descending) in enumerate(columns):
        equal = [columns[j][0] == values[j] for j in range(i)]
        beyond = column < values[i] if descending else column > values[i]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)


def keyset(
    query: Query, sort_columns: Mapping[int, Any], id_column: Any, token_value: TokenValue
) -> tuple[list[Any], ColumnElement[bool] | None]:
    """The ORDER BY of `query`'s sort (the id last) and, with a page token, the condition that
    selects the rows after the token's."""
    columns = [(sort_columns[key.field], key.descending) for key in query.sort]
    columns.append((id_column, False))
    order = [column.desc() if descending else column.asc() for column, descending in columns]
    if query.after is None:
        return order, None
    values = [
        token_value(key.field, value)
        for key, value in zip(query.sort, query.after[:-1], strict=True)
    ]
    values.append(query.after[-1])
    return order, after(columns, values)


def in_range(column: Any, range_: TimeRange) -> list[ColumnElement[bool]]:
    """`start` inclusive, `end` exclusive; a nullable column never matches a bounded range."""
    conditions: list[ColumnElement[bool]] = []
    if range_.start is not None:
        conditions.append(column >= range_.start)
    if range_.end is not None:
        conditions.append(column < range_.end)
    return conditions


def rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class DefinitionCache(Generic[V]):
    """Parsed definitions by (id, revision): a revision never changes its content, so an entry
    is never stale. Per process and bounded; a miss just parses the stored document again."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._entries: OrderedDict[tuple[str, int], V] = OrderedDict()
        self._max = max_entries

    def get(self, key: tuple[str, int]) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: tuple[str, int], value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

"""SearchOrders and AggregateOrders in SQL: the typed filter as WHERE clauses, the sorts as
ORDER BY, and the keyset condition that starts a page strictly after the previous one.

A query is split into its *shape* (which conditions it has, with how many values, its sorts,
first page or not) and its values. Statements are built once per shape, with a bound parameter
for every value, and kept (`search_statement`): building and fingerprinting a SQLAlchemy
expression tree for each call used to cost more than running the indexed query itself.
"""

from __future__ import annotations

import functools
from collections.abc import Container, Sequence
from typing import Any

import sqlalchemy as sa

from services.orders.domain.enums import OrderStatus, SortField
from services.orders.domain.search import OrderFilter, OrderQuery, SortKey, SortValue, amount_key
from services.orders.tables import order_catalog_items, order_tags, orders

_SORT_COLUMNS = {
    SortField.CREATED_DATE: orders.c.created_at,
    SortField.UPDATED_DATE: orders.c.updated_at,
    SortField.NUMBER: orders.c.number,
    SortField.TOTAL: orders.c.total_key,
}
#: INITIALIZED orders are hidden unless asked for; a constant, so it is written into the SQL.
_VISIBLE_BY_DEFAULT = orders.c.status.in_(
    [sa.literal_column(str(int(s))) for s in (OrderStatus.APPROVED, OrderStatus.CANCELED)]
)
#: Bounded: a shape is a small tuple, and callers rarely use more than a few dozen of them.
_STATEMENTS_KEPT = 512

#: One condition of a query without its values: (kind, argument, how many values it binds).
Term = tuple[str, Any, int]


def _terms(
    wanted: OrderFilter, dense: Container[tuple[str, Any]] = ()
) -> tuple[list[Term], list[Any]]:
    """The conditions of a filter (ANDed; the site's comes from `_where`) and their values, in
    the order the conditions bind them. Lookup conditions named in `dense` (kind, argument) are
    written for values that many orders have (see `_clause`)."""
    terms: list[Term] = []
    values: list[Any] = []

    def add(kind: str, argument: Any, given: Sequence[Any]) -> None:
        terms.append((kind, argument, len(given)))
        values.extend(given)

    if wanted.owner is not None:
        add("owner", None, [wanted.owner])
    if wanted.statuses:
        add("in", "status", [int(s) for s in wanted.statuses])
    if not wanted.shows_initialized:
        add("visible", None, [])
    for name, given in (
        ("id", wanted.ids),
        ("number", wanted.numbers),
        ("buyer_email", [email.lower() for email in wanted.buyer_emails]),
        ("member_id", wanted.member_ids),
        ("visitor_id", wanted.visitor_ids),
        ("contact_id", wanted.contact_ids),
        ("payment_status", [int(s) for s in wanted.payment_statuses]),
        ("fulfillment_status", [int(s) for s in wanted.fulfillment_statuses]),
        ("channel_type", [int(c) for c in wanted.channel_types]),
        ("checkout_id", wanted.checkout_ids),
    ):
        if given:
            add("in", name, list(given))
    if wanted.archived is not None:
        add("eq", "archived", [wanted.archived])
    for name, span in (("created_at", wanted.created), ("updated_at", wanted.updated)):
        if span.start is not None:
            add("ge", name, [span.start])
        if span.end is not None:
            add("lt", name, [span.end])
    # Totals are never negative: a negative minimum bounds nothing, a negative maximum matches
    # nothing.
    if wanted.total_min is not None and wanted.total_min > 0:
        add("ge", "total_key", [amount_key(wanted.total_min)])
    if wanted.total_max is not None:
        if wanted.total_max < 0:
            add("none", None, [])
        else:
            add("le", "total_key", [amount_key(wanted.total_max)])
    for kind, argument, given in lookups(wanted):
        add(f"{kind}_dense" if (kind, argument) in dense else kind, argument, given)
    return terms, values


def lookups(wanted: OrderFilter) -> list[tuple[str, Any, list[str]]]:
    """The filter's conditions answered from a lookup table: (kind, argument, values)."""
    found: list[tuple[str, Any, list[str]]] = []
    if wanted.catalog_item_ids:
        found.append(("catalog", None, list(wanted.catalog_item_ids)))
    for private, given in ((False, wanted.tags), (True, wanted.private_tags)):
        if given:
            found.append(("tags", private, list(given)))
    return found


def _lookup(kind: str, argument: Any) -> tuple[sa.Table, Any, list[Any]]:
    """A lookup table, its value column and its other fixed conditions."""
    if kind == "catalog":
        return order_catalog_items, order_catalog_items.c.catalog_item_id, []
    private = order_tags.c.private == (sa.true() if argument else sa.false())
    return order_tags, order_tags.c.tag, [private]


def lookup_probe(
    site: str, kind: str, argument: Any, values: Sequence[str], cap: int
) -> tuple[Any, dict[str, Any]]:
    """The statement counting how many (up to `cap`) of the site's orders a lookup condition
    matches, and its parameters."""
    params = _params(site, values)
    params["cap"] = cap
    return _probe_statement(kind, argument, len(values)), params


@functools.lru_cache(maxsize=_STATEMENTS_KEPT)
def _probe_statement(kind: str, argument: Any, count: int) -> Any:
    table, value, fixed = _lookup(kind, argument)
    binds: list[Any] = [sa.bindparam(f"p{index}") for index in range(count)]
    matches = (
        sa.select(sa.literal(1))
        .where(table.c.site == sa.bindparam("site"), *fixed, value.in_(binds))
        .limit(sa.bindparam("cap", type_=sa.Integer))
    )
    return sa.select(sa.func.count()).select_from(matches.subquery())


def _clause(kind: str, argument: Any, binds: list[Any], site: Any) -> Any:
    column: Any = orders.c[argument] if isinstance(argument, str) else None
    if kind == "owner":
        return sa.or_(orders.c.visitor_id == binds[0], orders.c.member_id == binds[0])
    if kind == "visible":
        return _VISIBLE_BY_DEFAULT
    if kind == "none":
        return sa.false()
    if kind == "in":
        # One value: a plain equality, which every planner (and generic plan) matches to an index.
        return column == binds[0] if len(binds) == 1 else column.in_(binds)
    if kind == "eq":
        return column == binds[0]
    if kind == "ge":
        return column >= binds[0]
    if kind == "lt":
        return column < binds[0]
    if kind == "le":
        return column <= binds[0]
    if kind in ("catalog", "tags"):
        # The few matching ids first, then those orders (sorted afterwards).
        table, value, fixed = _lookup(kind, argument)
        matching = sa.select(table.c.order_id).where(table.c.site == site, *fixed, value.in_(binds))
        return orders.c.id.in_(matching)
    if kind in ("catalog_dense", "tags_dense"):
        # Orders in the sort's order, each checked on the lookup table's primary key: the page
        # fills after a few rows instead of first collecting every match to sort it.
        table, value, fixed = _lookup(kind.removesuffix("_dense"), argument)
        return sa.exists().where(table.c.order_id == orders.c.id, *fixed, value.in_(binds))
    raise AssertionError(f"unknown condition {kind!r}")


def _where(terms: Sequence[Term]) -> list[Any]:
    """The site's clause and those of `terms`, binding `site` and p0, p1, ... in turn."""
    site = sa.bindparam("site", type_=orders.c.site.type)
    clauses = [orders.c.site == site]
    index = 0
    for kind, argument, count in terms:
        binds: list[Any] = [sa.bindparam(f"p{index + offset}") for offset in range(count)]
        clauses.append(_clause(kind, argument, binds, site))
        index += count
    return clauses


def _params(site: str, values: Sequence[Any]) -> dict[str, Any]:
    params = {f"p{index}": value for index, value in enumerate(values)}
    params["site"] = site
    return params


def where_filter(site: str, wanted: OrderFilter) -> tuple[list[Any], dict[str, Any]]:
    """The WHERE clauses (ANDed, the site's included) of a filter and their parameters."""
    terms, values = _terms(wanted)
    return _where(terms), _params(site, values)


def order_by(sort: Sequence[SortKey]) -> tuple[list[Any], list[Any]]:
    """(the selected sort columns, id last; the ORDER BY clauses)."""
    keys = [_SORT_COLUMNS[key.field] for key in sort] + [orders.c.id]
    clauses = [
        column.desc() if key.descending else column.asc()
        for column, key in zip(keys, sort, strict=False)
    ]
    clauses.append(orders.c.id.asc())  # the final tie-breaker, always ascending
    return keys, clauses


def where_after(sort: Sequence[SortKey], after: Sequence[Any]) -> Any:
    """Rows strictly after `after` (values or bound parameters) in the sort order: (k1 beyond v1)
    OR (k1 = v1 AND k2 beyond v2) OR ..., plus a redundant bound on the first key so an index
    range scan starts there."""
    columns = [_SORT_COLUMNS[key.field] for key in sort] + [orders.c.id]
    descending = [key.descending for key in sort] + [False]
    alternatives = []
    for index, column in enumerate(columns):
        equal = [columns[i] == after[i] for i in range(index)]
        beyond = column < after[index] if descending[index] else column > after[index]
        alternatives.append(sa.and_(*equal, beyond))
    first_bound = columns[0] <= after[0] if descending[0] else columns[0] >= after[0]
    return sa.and_(first_bound, sa.or_(*alternatives))


@functools.lru_cache(maxsize=_STATEMENTS_KEPT)
def _search_statement(terms: tuple[Term, ...], sort: tuple[SortKey, ...], paged: bool) -> Any:
    keys, order_clauses = order_by(sort)
    stmt = (
        sa.select(orders.c.document, *keys)
        .where(*_where(terms))
        .order_by(*order_clauses)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    if paged:
        first = sum(count for _kind, _argument, count in terms)
        after: list[Any] = [sa.bindparam(f"p{first + index}") for index in range(len(sort) + 1)]
        stmt = stmt.where(where_after(sort, after))
    return stmt


def search_statement(
    site: str, query: OrderQuery, dense: Container[tuple[str, Any]] = ()
) -> tuple[Any, dict[str, Any]]:
    """The statement of one page of `query` (page_size + 1 rows: the one past the page tells
    whether more follow), selecting each order's document and sort values, and its parameters.
    `dense`: the lookup conditions (kind, argument) whose values many orders have."""
    terms, values = _terms(query.filter, dense)
    after: Sequence[SortValue] = query.after or ()
    params = _params(site, [*values, *after])
    params["limit"] = query.page_size + 1
    return _search_statement(tuple(terms), query.sort, query.after is not None), params

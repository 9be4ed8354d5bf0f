"""SearchOrders and AggregateOrders in SQL: the typed filter as WHERE clauses, the sorts as
ORDER BY, and the keyset condition that starts a page strictly after the previous one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from services.orders.domain.enums import OrderStatus, SortField
from services.orders.domain.search import OrderFilter, SortKey, SortValue, amount_key
from services.orders.tables import order_catalog_items, order_tags, orders

_SORT_COLUMNS = {
    SortField.CREATED_DATE: orders.c.created_at,
    SortField.UPDATED_DATE: orders.c.updated_at,
    SortField.NUMBER: orders.c.number,
    SortField.TOTAL: orders.c.total_key,
}
_VISIBLE_BY_DEFAULT = (int(OrderStatus.APPROVED), int(OrderStatus.CANCELED))


def _in(column: Any, values: Sequence[Any]) -> Any:
    return column.in_([int(v) if isinstance(v, int) else v for v in values])


def where_filter(site: str, wanted: OrderFilter) -> list[Any]:
    """The WHERE clauses (ANDed) of a filter; the site clause is the caller's to add."""
    clauses: list[Any] = []
    if wanted.owner is not None:
        clauses.append(
            sa.or_(orders.c.visitor_id == wanted.owner, orders.c.member_id == wanted.owner)
        )
    if wanted.statuses:
        clauses.append(_in(orders.c.status, wanted.statuses))
    if not wanted.shows_initialized:
        clauses.append(orders.c.status.in_(_VISIBLE_BY_DEFAULT))
    for column, values in (
        (orders.c.id, wanted.ids),
        (orders.c.number, wanted.numbers),
        (orders.c.buyer_email, [email.lower() for email in wanted.buyer_emails]),
        (orders.c.member_id, wanted.member_ids),
        (orders.c.visitor_id, wanted.visitor_ids),
        (orders.c.contact_id, wanted.contact_ids),
        (orders.c.payment_status, wanted.payment_statuses),
        (orders.c.fulfillment_status, wanted.fulfillment_statuses),
        (orders.c.channel_type, wanted.channel_types),
        (orders.c.checkout_id, wanted.checkout_ids),
    ):
        if values:
            clauses.append(_in(column, values))
    if wanted.archived is not None:
        clauses.append(orders.c.archived == wanted.archived)
    for column, span in (
        (orders.c.created_at, wanted.created),
        (orders.c.updated_at, wanted.updated),
    ):
        if span.start is not None:
            clauses.append(column >= span.start)
        if span.end is not None:
            clauses.append(column < span.end)
    clauses.extend(_total_range(wanted))
    if wanted.catalog_item_ids:
        clauses.append(
            orders.c.id.in_(
                sa.select(order_catalog_items.c.order_id).where(
                    order_catalog_items.c.site == site,
                    order_catalog_items.c.catalog_item_id.in_(list(wanted.catalog_item_ids)),
                )
            )
        )
    for private, values in ((False, wanted.tags), (True, wanted.private_tags)):
        if values:
            clauses.append(
                orders.c.id.in_(
                    sa.select(order_tags.c.order_id).where(
                        order_tags.c.site == site,
                        order_tags.c.private == private,
                        order_tags.c.tag.in_(list(values)),
                    )
                )
            )
    return clauses


def _total_range(wanted: OrderFilter) -> list[Any]:
    """Totals are never negative: a negative minimum bounds nothing, a negative maximum
    matches nothing."""
    clauses: list[Any] = []
    if wanted.total_min is not None and wanted.total_min > 0:
        clauses.append(orders.c.total_key >= amount_key(wanted.total_min))
    if wanted.total_max is not None:
        if wanted.total_max < 0:
            clauses.append(sa.false())
        else:
            clauses.append(orders.c.total_key <= amount_key(wanted.total_max))
    return clauses


def order_by(sort: Sequence[SortKey]) -> tuple[list[Any], list[Any]]:
    """(the selected sort columns, id last; the ORDER BY clauses)."""
    keys = [_SORT_COLUMNS[key.field] for key in sort] + [orders.c.id]
    clauses = [
        column.desc() if key.descending else column.asc()
        for column, key in zip(keys, sort, strict=False)
    ]
    clauses.append(orders.c.id.asc())  # the final tie-breaker, always ascending
    return keys, clauses


def where_after(sort: Sequence[SortKey], after: Sequence[SortValue]) -> Any:
    """Rows strictly after `after` in the sort order: (k1 beyond v1) OR (k1 = v1 AND k2 beyond
    v2) OR ..., plus a redundant bound on the first key so an index range scan starts there."""
    columns = [_SORT_COLUMNS[key.field] for key in sort] + [orders.c.id]
    descending = [key.descending for key in sort] + [False]
    alternatives = []
    for index, column in enumerate(columns):
        equal = [columns[i] == after[i] for i in range(index)]
        beyond = column < after[index] if descending[index] else column > after[index]
        alternatives.append(sa.and_(*equal, beyond))
    first_bound = columns[0] <= after[0] if descending[0] else columns[0] >= after[0]
    return sa.and_(first_bound, sa.or_(*alternatives))

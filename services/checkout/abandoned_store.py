"""Abandoned checkouts' repository, and the deployment-wide lease of the sweeper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.checkout.v1 import abandoned_checkout_pb2
from services.checkout.abandoned import ABANDONED, Query, total_key, total_of
from services.checkout.tables import abandoned_checkouts, checkouts, leases
from services.platform.db import for_update, insert_if_absent

Record = abandoned_checkout_pb2.AbandonedCheckout
_t = abandoned_checkouts.c


def _values(record: Record) -> dict[str, Any]:
    return {
        "status": int(record.status),
        "buyer_email": record.buyer_info.email.lower(),
        "total_key": total_key(total_of(record)),
        "document": record.SerializeToString(deterministic=True),
    }


async def insert(session: AsyncSession, site: str, record: Record, now: datetime) -> bool:
    """Insert the record of a checkout; False when the checkout already has one."""
    values = {
        "id": record.id,
        "site": site,
        "checkout_id": record.checkout_id,
        "cart_id": record.cart_id,
        "created": now,
        "updated": now,
        "recovered": None,
        **_values(record),
    }
    return await insert_if_absent(session, abandoned_checkouts, values, ("site", "checkout_id"))


async def of_checkout(
    session: AsyncSession, site: str, checkout_id: str, *, lock: bool = False
) -> Record | None:
    stmt = sa.select(_t.document).where(_t.site == site, _t.checkout_id == checkout_id)
    if lock:
        stmt = for_update(session, stmt)
    document = (await session.execute(stmt)).scalar_one_or_none()
    return Record.FromString(document) if document is not None else None


async def get(session: AsyncSession, site: str, record_id: str) -> Record | None:
    stmt = sa.select(_t.document).where(_t.site == site, _t.id == record_id)
    document = (await session.execute(stmt)).scalar_one_or_none()
    return Record.FromString(document) if document is not None else None


async def save(
    session: AsyncSession, site: str, record: Record, *, recovered: datetime | None = None
) -> None:
    values = {**_values(record), "updated": record.updated_date.ToDatetime(tzinfo=UTC)}
    if recovered is not None:
        values["recovered"] = recovered
    await session.execute(
        sa.update(abandoned_checkouts).where(_t.site == site, _t.id == record.id).values(**values)
    )


async def idle_checkouts(
    session: AsyncSession, *, idle_since: datetime, limit: int
) -> list[tuple[str, str]]:
    """(site, checkout id) of uncompleted checkouts with an email and lines, unchanged since
    `idle_since`, that have no abandoned record yet, oldest first, across all sites."""
    c = checkouts.c
    recorded = sa.exists().where(_t.site == c.site, _t.checkout_id == c.id)
    stmt = (
        sa.select(c.site, c.id)
        .where(
            c.completed.is_(False),
            c.buyer_email != "",
            c.line_count > 0,
            c.updated <= idle_since,
            ~recorded,
        )
        .order_by(c.updated)
        .limit(limit)
    )
    return [(row.site, row.id) for row in (await session.execute(stmt)).all()]


_COLUMNS = {"created": _t.created, "updated": _t.updated, "total_key": _t.total_key}


def _after(query: Query) -> Any:
    """Rows strictly after the token's row in the query's order (keyset paging)."""
    assert query.after is not None
    keys = [(_COLUMNS[name], desc) for name, desc in query.sort] + [(_t.id, False)]
    values = [
        datetime.fromisoformat(v) if name in ("created", "updated") else v
        for (name, _), v in zip(query.sort, query.after, strict=False)
    ] + [query.after[-1]]
    clauses = []
    for depth, (column, desc) in enumerate(keys):
        equal = [keys[i][0] == values[i] for i in range(depth)]
        beyond = column < values[depth] if desc else column > values[depth]
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)


async def query(
    session: AsyncSession, site: str, q: Query
) -> tuple[list[Record], tuple[Any, ...] | None]:
    """One page of records; the second item is the page's last sort key when more follow."""
    where: list[Any] = [_t.site == site]
    if q.ids:
        where.append(_t.id.in_(q.ids))
    if q.checkout_ids:
        where.append(_t.checkout_id.in_(q.checkout_ids))
    if q.cart_ids:
        where.append(_t.cart_id.in_(q.cart_ids))
    if q.statuses:
        where.append(_t.status.in_(q.statuses))
    if q.buyer_emails:
        where.append(_t.buyer_email.in_(q.buyer_emails))
    for column, bounds in ((_t.created, q.created), (_t.updated, q.updated)):
        if bounds is not None:
            if bounds.start is not None:
                where.append(column >= bounds.start)
            if bounds.end is not None:
                where.append(column < bounds.end)
    if q.recovered is not None:
        where.append(_t.recovered.is_not(None))
        if q.recovered.start is not None:
            where.append(_t.recovered >= q.recovered.start)
        if q.recovered.end is not None:
            where.append(_t.recovered < q.recovered.end)
    if q.total_min is not None:
        where.append(_t.total_key >= q.total_min)
    if q.total_max is not None:
        where.append(_t.total_key <= q.total_max)
    if q.after is not None:
        where.append(_after(q))
    order = [(_COLUMNS[name].desc() if desc else _COLUMNS[name].asc()) for name, desc in q.sort]
    stmt = (
        sa.select(_t.document, _t.id, _t.created, _t.updated, _t.total_key)
        .where(*where)
        .order_by(*order, _t.id.asc())
        .limit(q.page_size + 1)
    )
    rows = (await session.execute(stmt)).all()
    records = [Record.FromString(row.document) for row in rows[: q.page_size]]
    if len(rows) <= q.page_size:
        return records, None
    last = rows[q.page_size - 1]
    return records, _key_of(last, q)


def _key_of(row: Any, q: Query) -> tuple[Any, ...]:
    return (*(getattr(row, name) for name, _ in q.sort), row.id)


def is_abandoned(record: Record | None) -> bool:
    return record is not None and record.status == ABANDONED


# --------------------------------------------------------------------------- leases


async def take_lease(
    session: AsyncSession, name: str, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Hold `name` until now + ttl if it is free, expired or already ours."""
    await insert_if_absent(
        session, leases, {"name": name, "owner": owner, "expires": now + ttl}, ("name",)
    )
    result = await session.execute(
        sa.update(leases)
        .where(
            leases.c.name == name,
            sa.or_(leases.c.owner == owner, leases.c.expires < now),
        )
        .values(owner=owner, expires=now + ttl)
    )
    return bool(getattr(result, "rowcount", 0))

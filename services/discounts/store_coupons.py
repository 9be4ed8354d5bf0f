"""Coupons in the service's tables. Every query is scoped by site; codes are unique per site by
their case-folded key (a unique constraint, so two concurrent creates cannot both win)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.discounts.domain.model import (
    Coupon,
    CouponDefinition,
    CouponKind,
    code_key,
    name_key,
)
from services.discounts.domain.queries import CouponFilter, CouponSortField, Query
from services.discounts.proto_coupons import definition_from_document, definition_to_proto
from services.discounts.store_common import (
    FAR_FUTURE,
    DefinitionCache,
    in_range,
    keyset,
    rowcount,
)
from services.discounts.tables import coupons
from services.platform.db import for_update
from services.platform.errors import RevisionMismatch

RESOURCE = "coupon"
t = coupons

_SORT_COLUMNS: dict[int, Any] = {
    CouponSortField.NAME: t.c.name_key,
    CouponSortField.CODE: t.c.code_key,
    CouponSortField.CREATED_DATE: t.c.created_at,
    CouponSortField.UPDATED_DATE: t.c.updated_at,
    CouponSortField.EXPIRATION_TIME: t.c.expiration_key,
    CouponSortField.NUMBER_OF_USAGES: t.c.number_of_usages,
}
_TIME_FIELDS = frozenset(
    {CouponSortField.CREATED_DATE, CouponSortField.UPDATED_DATE, CouponSortField.EXPIRATION_TIME}
)


def sort_value(coupon: Coupon, field: int) -> Any:
    """A coupon's value of a sort field, as a page token stores it."""
    definition = coupon.definition
    if field == CouponSortField.NAME:
        return name_key(definition.name)
    if field == CouponSortField.CODE:
        return code_key(definition.code)
    if field == CouponSortField.NUMBER_OF_USAGES:
        return coupon.number_of_usages
    if field == CouponSortField.CREATED_DATE:
        return coupon.created.isoformat()
    if field == CouponSortField.UPDATED_DATE:
        return coupon.updated.isoformat()
    return (definition.expiration or FAR_FUTURE).isoformat()


def sort_values(coupon: Coupon, sort: Sequence[Any]) -> list[Any]:
    return [*(sort_value(coupon, key.field) for key in sort), coupon.id]


def _token_value(field: int, value: Any) -> Any:
    return datetime.fromisoformat(str(value)) if field in _TIME_FIELDS else value


class CouponStore:
    def __init__(self, session: AsyncSession, cache: DefinitionCache[CouponDefinition]) -> None:
        self._session = session
        self._cache = cache

    def _coupon(self, row: RowMapping) -> Coupon:
        key = (str(row["id"]), int(row["revision"]))
        definition = self._cache.get(key)
        if definition is None:
            definition = definition_from_document(row["document"])
            self._cache.put(key, definition)
        return Coupon(
            id=key[0],
            definition=definition,
            revision=key[1],
            number_of_usages=int(row["number_of_usages"]),
            created=row["created_at"],
            updated=row["updated_at"],
        )

    async def _one(self, stmt: sa.Select[Any], lock: bool) -> Coupon | None:
        if lock:
            stmt = for_update(self._session, stmt)
        row = (await self._session.execute(stmt)).mappings().first()
        return self._coupon(row) if row else None

    async def get(self, site: str, coupon_id: str, *, lock: bool = False) -> Coupon | None:
        return await self._one(sa.select(t).where(t.c.site == site, t.c.id == coupon_id), lock)

    async def by_code(self, site: str, code: str, *, lock: bool = False) -> Coupon | None:
        stmt = sa.select(t).where(t.c.site == site, t.c.code_key == code_key(code))
        return await self._one(stmt, lock)

    def _values(self, coupon: Coupon) -> dict[str, Any]:
        definition = coupon.definition
        assert definition.kind is not None  # validated
        return {
            "code": definition.code,
            "code_key": code_key(definition.code),
            "name_key": name_key(definition.name),
            "kind": int(definition.kind),
            "active": definition.active,
            "start_at": definition.start,
            "expiration_at": definition.expiration,
            "expiration_key": definition.expiration or FAR_FUTURE,
            "usage_limit": definition.usage_limit,
            "revision": coupon.revision,
            "document": definition_to_proto(definition).SerializeToString(deterministic=True),
            "updated_at": coupon.updated,
        }

    async def add(self, site: str, coupon: Coupon) -> None:
        values = self._values(coupon)
        values.update(
            id=coupon.id,
            site=site,
            number_of_usages=coupon.number_of_usages,
            created_at=coupon.created,
        )
        await self._session.execute(sa.insert(t).values(**values))
        self._cache.put((coupon.id, coupon.revision), coupon.definition)

    async def replace(self, site: str, coupon: Coupon) -> None:
        """Store `coupon` (revision already bumped) if the stored one is still revision - 1."""
        result = await self._session.execute(
            sa.update(t)
            .where(t.c.site == site, t.c.id == coupon.id, t.c.revision == coupon.revision - 1)
            .values(**self._values(coupon))
        )
        if rowcount(result) != 1:
            current = await self.get(site, coupon.id)
            raise RevisionMismatch(
                RESOURCE, coupon.revision - 1, current.revision if current else 0
            )
        self._cache.put((coupon.id, coupon.revision), coupon.definition)

    async def delete(self, site: str, coupon_id: str) -> bool:
        result = await self._session.execute(
            sa.delete(t).where(t.c.site == site, t.c.id == coupon_id)
        )
        return rowcount(result) == 1

    async def count_use(self, site: str, coupon_id: str) -> int | None:
        """+1 use; the new count, or None when the coupon no longer exists."""
        result = await self._session.execute(
            sa.update(t)
            .where(t.c.site == site, t.c.id == coupon_id)
            .values(number_of_usages=t.c.number_of_usages + 1)
            .returning(t.c.number_of_usages)
        )
        count = result.scalar_one_or_none()
        return None if count is None else int(count)

    async def query(self, site: str, query: Query, now: datetime) -> list[Coupon]:
        """One page plus one row (to tell whether another page follows)."""
        wanted = query.filter
        assert isinstance(wanted, CouponFilter)
        conditions: list[ColumnElement[bool]] = [t.c.site == site]
        if wanted.ids:
            conditions.append(t.c.id.in_(sorted(wanted.ids)))
        if wanted.code:
            conditions.append(t.c.code_key == code_key(wanted.code))
        if wanted.name_prefix:
            conditions.append(
                t.c.name_key.startswith(name_key(wanted.name_prefix), autoescape=True)
            )
        if wanted.active is not None:
            conditions.append(t.c.active.is_(wanted.active))
        if wanted.expired is not None:
            expired = sa.and_(t.c.expiration_at.is_not(None), t.c.expiration_at <= now)
            conditions.append(expired if wanted.expired else sa.not_(expired))
        if wanted.usage_limit_reached is not None:
            reached = sa.and_(t.c.usage_limit.is_not(None), t.c.number_of_usages >= t.c.usage_limit)
            conditions.append(reached if wanted.usage_limit_reached else sa.not_(reached))
        if wanted.kinds:
            conditions.append(t.c.kind.in_(sorted(int(k) for k in wanted.kinds)))
        conditions += in_range(t.c.start_at, wanted.start)
        conditions += in_range(t.c.expiration_at, wanted.expiration)
        conditions += in_range(t.c.created_at, wanted.created)
        conditions += in_range(t.c.updated_at, wanted.updated)
        order, beyond = keyset(query, _SORT_COLUMNS, t.c.id, _token_value)
        if beyond is not None:
            conditions.append(beyond)
        stmt = sa.select(t).where(*conditions).order_by(*order).limit(query.page_size + 1)
        result = await self._session.execute(stmt)
        return [self._coupon(row) for row in result.mappings()]


__all__ = ["CouponKind", "CouponStore", "sort_values"]

"""Discount rules in the service's tables. Every query is scoped by site.

Writes of a rule's definition are compare-and-set on `revision` (two concurrent updates cannot
both win); use counts change with `usage_count = usage_count + 1` under the row lock the UPDATE
takes, so concurrent orders never lose a count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.discounts.domain.model import Rule, RuleDefinition, RuleStatus, name_key
from services.discounts.domain.queries import Query, RuleFilter, RuleSortField
from services.discounts.proto_rules import definition_from_document, definition_to_proto
from services.discounts.store_common import DefinitionCache, in_range, keyset, rowcount
from services.discounts.tables import discount_rule_apps, discount_rules
from services.platform.db import for_update
from services.platform.errors import RevisionMismatch

RESOURCE = "discount rule"
t = discount_rules

_SORT_COLUMNS: dict[int, Any] = {
    RuleSortField.NAME: t.c.name_key,
    RuleSortField.CREATED_DATE: t.c.created_at,
    RuleSortField.UPDATED_DATE: t.c.updated_at,
}


def expired_clause(now: datetime) -> ColumnElement[bool]:
    """EXPIRED: window ended, or usage limit reached (each part guarded against NULL)."""
    return sa.or_(
        sa.and_(t.c.end_at.is_not(None), t.c.end_at <= now),
        sa.and_(t.c.usage_limit.is_not(None), t.c.usage_count >= t.c.usage_limit),
    )


def status_clause(status: RuleStatus, now: datetime) -> ColumnElement[bool]:
    expired = expired_clause(now)
    not_started = sa.and_(t.c.start_at.is_not(None), t.c.start_at > now)
    if status is RuleStatus.EXPIRED:
        return expired
    if status is RuleStatus.PENDING:
        return sa.and_(sa.not_(expired), not_started)
    return sa.and_(sa.not_(expired), sa.not_(not_started))


def sort_value(rule: Rule, field: int) -> Any:
    """A rule's value of a sort field, as a page token stores it."""
    if field == RuleSortField.NAME:
        return name_key(rule.name)
    stamp = rule.created if field == RuleSortField.CREATED_DATE else rule.updated
    return stamp.isoformat()


def _token_value(field: int, value: Any) -> Any:
    return value if field == RuleSortField.NAME else datetime.fromisoformat(str(value))


class RuleStore:
    def __init__(self, session: AsyncSession, cache: DefinitionCache[RuleDefinition]) -> None:
        self._session = session
        self._cache = cache

    def _rule(self, row: RowMapping) -> Rule:
        key = (str(row["id"]), int(row["revision"]))
        definition = self._cache.get(key)
        if definition is None:
            definition = definition_from_document(row["document"])
            self._cache.put(key, definition)
        return Rule(
            id=key[0],
            definition=definition,
            revision=key[1],
            usage_count=int(row["usage_count"]),
            created=row["created_at"],
            updated=row["updated_at"],
        )

    async def _select(self, stmt: sa.Select[Any]) -> list[Rule]:
        result = await self._session.execute(stmt)
        return [self._rule(row) for row in result.mappings()]

    async def get(self, site: str, rule_id: str, *, lock: bool = False) -> Rule | None:
        stmt = sa.select(t).where(t.c.site == site, t.c.id == rule_id)
        found = await self._select(for_update(self._session, stmt) if lock else stmt)
        return found[0] if found else None

    async def many(self, site: str, rule_ids: Iterable[str], *, lock: bool = False) -> list[Rule]:
        """The rules that exist among `rule_ids`; with `lock`, row-locked in id order."""
        ids = sorted(set(rule_ids))
        if not ids:
            return []
        stmt = sa.select(t).where(t.c.site == site, t.c.id.in_(ids)).order_by(t.c.id)
        return await self._select(for_update(self._session, stmt) if lock else stmt)

    async def active(self, site: str) -> list[Rule]:
        """Every active rule, oldest first (then by id), whatever its status: what
        GetAppliedDiscounts keeps per site and filters by the time of each call.

        Rows are read without their documents; only the documents of revisions this process
        has not parsed yet are fetched."""
        light = (
            sa.select(t.c.id, t.c.revision, t.c.usage_count, t.c.created_at, t.c.updated_at)
            .where(t.c.site == site, t.c.active.is_(True))
            .order_by(t.c.created_at, t.c.id)
        )
        rows = (await self._session.execute(light)).all()
        missing = [row.id for row in rows if self._cache.get((row.id, row.revision)) is None]
        documents: dict[tuple[str, int], bytes] = {}
        if missing:
            heavy = sa.select(t.c.id, t.c.revision, t.c.document).where(
                t.c.site == site, t.c.id.in_(missing)
            )
            for found in (await self._session.execute(heavy)).all():
                documents[(found.id, found.revision)] = found.document
        rules = []
        for row in rows:
            key = (str(row.id), int(row.revision))
            definition = self._cache.get(key)
            if definition is None:
                if key not in documents:
                    continue  # changed since the first read: left for the next pricing
                definition = definition_from_document(documents[key])
                self._cache.put(key, definition)
            rules.append(
                Rule(
                    key[0], definition, key[1], int(row.usage_count), row.created_at, row.updated_at
                )
            )
        return rules

    async def count(self, site: str) -> int:
        stmt = sa.select(sa.func.count()).select_from(t).where(t.c.site == site)
        return int((await self._session.execute(stmt)).scalar_one())

    def _values(self, rule: Rule) -> dict[str, Any]:
        definition = rule.definition
        return {
            "name_key": name_key(definition.name),
            "active": definition.active,
            "start_at": definition.start,
            "end_at": definition.end,
            "usage_limit": definition.usage_limit,
            "revision": rule.revision,
            "document": definition_to_proto(definition).SerializeToString(deterministic=True),
            "updated_at": rule.updated,
        }

    async def _set_apps(self, site: str, rule: Rule) -> None:
        await self._session.execute(
            sa.delete(discount_rule_apps).where(discount_rule_apps.c.rule_id == rule.id)
        )
        apps = sorted(rule.definition.app_ids())
        if apps:
            await self._session.execute(
                sa.insert(discount_rule_apps),
                [{"rule_id": rule.id, "app_id": app, "site": site} for app in apps],
            )

    async def add(self, site: str, rule: Rule) -> None:
        values = self._values(rule)
        values.update(id=rule.id, site=site, usage_count=rule.usage_count, created_at=rule.created)
        await self._session.execute(sa.insert(t).values(**values))
        await self._set_apps(site, rule)
        self._cache.put((rule.id, rule.revision), rule.definition)

    async def replace(self, site: str, rule: Rule) -> None:
        """Store `rule` (revision already bumped) if the stored one is still revision - 1."""
        result = await self._session.execute(
            sa.update(t)
            .where(t.c.site == site, t.c.id == rule.id, t.c.revision == rule.revision - 1)
            .values(**self._values(rule))
        )
        if rowcount(result) != 1:
            current = await self.get(site, rule.id)
            raise RevisionMismatch(RESOURCE, rule.revision - 1, current.revision if current else 0)
        await self._set_apps(site, rule)
        self._cache.put((rule.id, rule.revision), rule.definition)

    async def delete(self, site: str, rule_id: str) -> bool:
        await self._session.execute(
            sa.delete(discount_rule_apps).where(discount_rule_apps.c.rule_id == rule_id)
        )
        result = await self._session.execute(
            sa.delete(t).where(t.c.site == site, t.c.id == rule_id)
        )
        return rowcount(result) == 1

    async def count_use(self, site: str, rule_id: str) -> int | None:
        """+1 use; the new count, or None when the rule no longer exists."""
        result = await self._session.execute(
            sa.update(t)
            .where(t.c.site == site, t.c.id == rule_id)
            .values(usage_count=t.c.usage_count + 1)
            .returning(t.c.usage_count)
        )
        count = result.scalar_one_or_none()
        return None if count is None else int(count)

    async def query(self, site: str, query: Query, now: datetime) -> list[Rule]:
        """One page plus one row (to tell whether another page follows)."""
        wanted = query.filter
        assert isinstance(wanted, RuleFilter)
        conditions: list[ColumnElement[bool]] = [t.c.site == site]
        if wanted.ids:
            conditions.append(t.c.id.in_(sorted(wanted.ids)))
        if wanted.active is not None:
            conditions.append(t.c.active.is_(wanted.active))
        if wanted.statuses:
            conditions.append(sa.or_(*(status_clause(s, now) for s in sorted(wanted.statuses))))
        if wanted.name_prefix:
            conditions.append(
                t.c.name_key.startswith(name_key(wanted.name_prefix), autoescape=True)
            )
        conditions += in_range(t.c.created_at, wanted.created)
        conditions += in_range(t.c.updated_at, wanted.updated)
        if wanted.app_ids:
            apps = discount_rule_apps
            conditions.append(
                t.c.id.in_(
                    sa.select(apps.c.rule_id).where(
                        apps.c.site == site, apps.c.app_id.in_(sorted(wanted.app_ids))
                    )
                )
            )
        order, beyond = keyset(query, _SORT_COLUMNS, t.c.id, _token_value)
        if beyond is not None:
            conditions.append(beyond)
        stmt = sa.select(t).where(*conditions).order_by(*order).limit(query.page_size + 1)
        return await self._select(stmt)


def sort_values(rule: Rule, sort: Sequence[Any]) -> list[Any]:
    """What a page token keeps of the last rule of a page: its sort values, then its id."""
    return [*(sort_value(rule, key.field) for key in sort), rule.id]

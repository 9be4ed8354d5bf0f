"""The per-site row of `discount_settings`: the site's settings (absent until first needed: the
defaults apply) and its definitions version.

The version counts every change that can alter an evaluation other than reservations: rules,
coupons, use counts and settings. Writers bump it in their own transaction, so a process that
reads an unchanged version knows that everything it cached for the site is still current."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.discounts.tables import discount_settings
from services.platform.db import dialect_of, for_update, insert_if_absent

t = discount_settings


@dataclass(frozen=True)
class StoredSettings:
    #: 0: never set (the deployment default applies).
    stacking_policy: int
    revision: int
    updated: datetime | None
    #: The definitions version (0 while the row does not exist).
    version: int = 0


NEVER_UPDATED = StoredSettings(0, 1, None)


def _defaults(site: str) -> dict[str, Any]:
    return {
        "site": site,
        "stacking_policy": 0,
        "revision": 1,
        "updated_at": None,
        "definitions_version": 0,
    }


class SettingsStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, site: str, *, lock: bool = False) -> StoredSettings:
        stmt = sa.select(t).where(t.c.site == site)
        if lock:
            stmt = for_update(self._session, stmt)
        row = (await self._session.execute(stmt)).mappings().first()
        if row is None:
            return NEVER_UPDATED
        return StoredSettings(
            int(row["stacking_policy"]),
            int(row["revision"]),
            row["updated_at"],
            int(row["definitions_version"]),
        )

    async def lock(self, site: str) -> StoredSettings:
        """Lock the site's row (created with the defaults when missing). Writers of per-site
        totals (the rule count) take it first, so they run one at a time per site."""
        await insert_if_absent(self._session, t, _defaults(site), ("site",))
        return await self.get(site, lock=True)

    async def save(self, site: str, settings: StoredSettings) -> None:
        await self._session.execute(
            sa.update(t)
            .where(t.c.site == site)
            .values(
                stacking_policy=settings.stacking_policy,
                revision=settings.revision,
                updated_at=settings.updated,
                definitions_version=t.c.definitions_version + 1,
            )
        )

    async def bump(self, site: str) -> None:
        """+1 to the definitions version, in the caller's transaction (one upsert)."""
        dialect_insert: Any = (
            postgresql.insert if dialect_of(self._session) == "postgresql" else sqlite.insert
        )
        values = _defaults(site) | {"definitions_version": 1}
        await self._session.execute(
            dialect_insert(t)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["site"],
                set_={"definitions_version": t.c.definitions_version + 1},
            )
        )

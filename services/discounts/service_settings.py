"""The site's discount settings: read (defaults until first updated) and update."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.discounts.domain.model import StackingPolicy
from services.discounts.store_settings import SettingsStore, StoredSettings
from services.platform.db import Database, utcnow
from services.platform.errors import check_revision

RESOURCE = "discount settings"


@dataclass(frozen=True)
class Settings:
    stacking_policy: StackingPolicy
    revision: int
    updated: datetime | None


class SettingsService:
    def __init__(
        self,
        database: Database,
        default_stacking: StackingPolicy,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._default = default_stacking
        self._clock = clock

    def _settings(self, stored: StoredSettings) -> Settings:
        policy = StackingPolicy(stored.stacking_policy) if stored.stacking_policy else self._default
        return Settings(policy, stored.revision, stored.updated)

    async def get(self, site: str) -> Settings:
        async def read(session: AsyncSession) -> StoredSettings:
            return await SettingsStore(session).get(site)

        return self._settings(await self._database.run(read, readonly=True))

    async def update(
        self, site: str, stacking_policy: StackingPolicy | None, expected_revision: int
    ) -> Settings:
        """`stacking_policy` None: back to the deployment default (the field was cleared)."""
        now = self._clock()

        async def write(session: AsyncSession) -> StoredSettings:
            store = SettingsStore(session)
            current = await store.lock(site)
            check_revision(RESOURCE, expected_revision, current.revision)
            updated = StoredSettings(
                int(stacking_policy) if stacking_policy else 0, current.revision + 1, now
            )
            await store.save(site, updated)
            return updated

        return self._settings(await self._database.run(write))

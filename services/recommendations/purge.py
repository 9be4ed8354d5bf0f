"""The background job that deletes statistics no window can reach any more."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import Database, utcnow
from services.recommendations.domain import bucket_day, window_start
from services.recommendations.settings import RecommendationSettings
from services.recommendations.store import OrderStats

log = logging.getLogger("ecom.recommendations.purge")


class StatisticsPurger:
    def __init__(
        self,
        database: Database,
        settings: RecommendationSettings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._settings = settings
        self._clock = clock

    async def run(self) -> None:
        """Purge now and then every `purge_interval_s` (a background job of the binding)."""
        while True:
            removed = await self.purge_once()
            if removed:
                log.info("purged %d rows of statistics older than every window", removed)
            await asyncio.sleep(self._settings.purge_interval_s)

    async def purge_once(self) -> int:
        now = self._clock()
        days = self._settings.retention_days
        before_day = window_start(bucket_day(now), days)
        seen_before = now - timedelta(days=days)

        async def purge(session: AsyncSession) -> int:
            return await OrderStats(session).purge(before_day, seen_before)

        return await self._database.run(purge)

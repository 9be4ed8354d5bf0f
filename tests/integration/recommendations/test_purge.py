"""Statistics older than every window are purged; what a window can still reach is kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.db import Database
from services.platform.migrations import migrate
from services.recommendations import MODULE
from services.recommendations.domain import ItemKey, OrderLine, Ref, order_facts
from services.recommendations.purge import StatisticsPurger
from services.recommendations.settings import RecommendationSettings
from services.recommendations.store import OrderStats

A, B = ItemKey("cat", "a"), ItemKey("cat", "b")


async def test_purge_keeps_what_windows_reach(database: Database) -> None:
    assert MODULE.migrations is not None
    await migrate(database, MODULE.migrations)
    now = datetime.now(UTC)

    async def seed(session: AsyncSession) -> None:
        stats = OrderStats(session)
        for order_id, days in (("recent", 10), ("old", 95)):
            lines = [
                OrderLine(Ref("cat", "a", {"variantId": "v"}), 1),
                OrderLine(Ref("cat", "b"), 2),
            ]
            facts = order_facts("s", order_id, now - timedelta(days=days), lines)
            assert await stats.count(facts, now)

    await database.run(seed)

    async def read(session: AsyncSession) -> tuple[list[ItemKey], list[ItemKey], int]:
        stats = OrderStats(session)
        since = date(2000, 1, 1)
        variants = await stats.variants("s", [A], 3)
        return (
            await stats.best_sellers("s", since, 10, 0),
            await stats.bought_together("s", [A], since, 10, 0),
            len(variants.get(A, [])),
        )

    assert await database.run(read, readonly=True) == ([B, A], [B], 1)
    purger = StatisticsPurger(database, RecommendationSettings())
    # The old order's rows: its claim, 2 items, 2 item-days of sales and 2 pair-days. The
    # variant was bought again since, so it stays.
    assert await purger.purge_once() == 7
    assert await database.run(read, readonly=True) == ([B, A], [B], 1)
    assert await purger.purge_once() == 0

    # A year on, nothing is within reach any more.
    later = StatisticsPurger(database, RecommendationSettings(), clock=lambda: now + timedelta(365))
    assert await later.purge_once() == 8
    assert await database.run(read, readonly=True) == ([], [], 0)

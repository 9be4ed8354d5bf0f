"""GetAppliedDiscounts keeps its last read of a site while nothing is committed (on SQLite, where
the data version tells). What the read found must still be judged at the time of each call: a
rule's window opening or closing and a reservation's hold expiring change the answer with no
write at all. The use cases run on a real database with a clock the test moves."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.spi.discount_triggers.v1 import discount_triggers_provider_service_pb2 as spi
from services.discounts import MODULE
from services.discounts.domain.evaluation import Request
from services.discounts.domain.lines import Line
from services.discounts.domain.model import (
    AmountKind,
    CouponDefinition,
    Discount,
    QuantityRange,
    Rule,
    RuleDefinition,
    Scope,
    ScopeKind,
    SpecificItems,
    StackingPolicy,
)
from services.discounts.domain.results import Outcome
from services.discounts.domain.usage import DEFAULT_RESERVATION_TTL
from services.discounts.service_applied import AppliedService
from services.discounts.service_usage import UsageService
from services.discounts.store_common import DefinitionCache
from services.discounts.store_rules import RuleStore
from services.discounts.store_settings import SettingsStore
from services.discounts.triggers_client import TriggerProviders
from services.platform.db import Database
from services.platform.migrations import migrate
from services.platform.runtime import Runtime
from tests.integration.discounts.kit import Clock

APP = "ecom.catalog"


def _definition(start: datetime, end: datetime) -> RuleDefinition:
    everything = Scope("all", ScopeKind.CATALOG_ITEM, APP)
    return RuleDefinition(
        name="Window",
        active=True,
        start=start,
        end=end,
        trigger=QuantityRange((), 0, 0),
        discounts=(Discount(SpecificItems((everything,)), AmountKind.PERCENTAGE, Decimal(10)),),
        usage_limit=1,
    )


async def test_kept_reads_follow_the_clock(database: Database, runtime: Runtime, site: str) -> None:
    await migrate(database, MODULE.migrations)
    clock = Clock()
    rule_cache: DefinitionCache[RuleDefinition] = DefinitionCache()
    coupon_cache: DefinitionCache[CouponDefinition] = DefinitionCache()
    usage = UsageService(
        database, rule_cache, coupon_cache, reservation_ttl=DEFAULT_RESERVATION_TTL, clock=clock
    )
    applied = AppliedService(
        database,
        rule_cache,
        coupon_cache,
        TriggerProviders(runtime.providers),
        StackingPolicy.STACK_ALL,
        clock,
    )
    opens = clock.now + timedelta(hours=1)
    closes = opens + 2 * DEFAULT_RESERVATION_TTL
    rule = Rule(str(uuid.uuid4()), _definition(opens, closes), 1, 0, clock.now, clock.now)

    async def insert(session: AsyncSession) -> None:
        # As RuleService.create stores it (without its registry checks of the scopes' apps).
        await RuleStore(session, rule_cache).add(site, rule)
        await SettingsStore(session).bump(site)

    await database.run(insert)
    rule_id = rule.id

    async def outcomes(reservation_id: str = "") -> list[Outcome]:
        line = Line("l1", APP, "item-1", 1, Decimal("10.00"))
        found = await applied.apply(
            site,
            Request(lines=(line,), currency="USD", now=clock.now),
            coupon_code=None,
            reservation_id=reservation_id,
            spi_template=spi.GetEligibleTriggersRequest,
            remaining_s=None,
        )
        return [result.outcome for result in found.evaluation.rules]

    assert await outcomes() == []  # pending
    assert await outcomes() == []  # the same, from the kept read on SQLite
    clock.now = opens
    assert await outcomes() == [Outcome.APPLIED]  # live now, nothing written

    await usage.reserve(site, "checkout-a", [rule_id], "")
    assert await outcomes() == [Outcome.USAGE_LIMIT_RESERVED]
    assert await outcomes() == [Outcome.USAGE_LIMIT_RESERVED]  # kept
    assert await outcomes("checkout-a") == [Outcome.APPLIED]  # its own hold does not count
    clock.now += DEFAULT_RESERVATION_TTL - timedelta(seconds=1)
    assert await outcomes() == [Outcome.USAGE_LIMIT_RESERVED]
    clock.now += timedelta(seconds=1)
    assert await outcomes() == [Outcome.APPLIED]  # the hold expired, nothing written
    clock.now -= timedelta(seconds=1)
    assert await outcomes() == [Outcome.USAGE_LIMIT_RESERVED]  # a clock step back: held again

    clock.now = closes
    assert await outcomes() == []  # expired

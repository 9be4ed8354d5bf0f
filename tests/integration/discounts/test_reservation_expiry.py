"""A reservation that is neither recorded nor released gives its uses back when it expires
(15 minutes by default), by time alone. The use cases run on a real database with a clock the
test moves, instead of waiting a quarter of an hour."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.discounts.v1 import coupons_service_pb2
from services.discounts import MODULE
from services.discounts.apps import AppChecks
from services.discounts.domain.model import CouponDefinition, CouponKind, RuleDefinition
from services.discounts.domain.usage import DEFAULT_RESERVATION_TTL
from services.discounts.service_coupons import CouponService
from services.discounts.service_usage import UsageService
from services.discounts.store_common import DefinitionCache
from services.discounts.store_usage import UsageStore
from services.platform.db import Database
from services.platform.errors import FailedPrecondition, Violations
from services.platform.migrations import migrate
from services.platform.runtime import Runtime
from tests.integration.discounts.kit import Clock


async def test_an_expired_reservation_holds_nothing(
    database: Database, runtime: Runtime, site: str
) -> None:
    await migrate(database, MODULE.migrations)
    clock = Clock()
    coupon_cache: DefinitionCache[CouponDefinition] = DefinitionCache()
    rule_cache: DefinitionCache[RuleDefinition] = DefinitionCache()
    coupons = CouponService(database, AppChecks(runtime.providers), coupon_cache, clock)
    usage = UsageService(
        database, rule_cache, coupon_cache, reservation_ttl=DEFAULT_RESERVATION_TTL, clock=clock
    )
    definition = CouponDefinition(
        code="ONCE",
        name="Once",
        scope=None,
        kind=CouponKind.FREE_SHIPPING,
        value=Decimal(0),
        usage_limit=1,
    )
    request = coupons_service_pb2.CreateCouponRequest()
    await coupons.create(site, definition, Violations(), request_id="", request=request)

    held = await usage.reserve(site, "checkout-a", [], "ONCE")
    assert held.expiration_date.ToDatetime(tzinfo=UTC) == clock.now + timedelta(minutes=15)
    with pytest.raises(FailedPrecondition) as refused:
        await usage.reserve(site, "checkout-b", [], "ONCE")
    assert refused.value.reason == "COUPON_USAGE_EXHAUSTED"

    clock.now += DEFAULT_RESERVATION_TTL - timedelta(seconds=1)
    with pytest.raises(FailedPrecondition):
        await usage.reserve(site, "checkout-b", [], "ONCE")

    clock.now += timedelta(seconds=1)
    await usage.reserve(site, "checkout-b", [], "ONCE")
    assert not await usage.release(site, "checkout-a")  # expired: nothing was held any more

    async def purge(session: AsyncSession) -> int:
        return await UsageStore(session).purge_expired(clock.now)

    # Housekeeping deletes expired holds only: checkout-b's, once it has expired too
    # (checkout-a's row went with its release).
    assert await database.run(purge) == 0
    clock.now += DEFAULT_RESERVATION_TTL
    assert await database.run(purge) == 1
    assert not await usage.release(site, "checkout-b")

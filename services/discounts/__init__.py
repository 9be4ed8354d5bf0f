"""The `discounts` service target: `ecom.discounts.v1.DiscountRulesService` (rules, their
evaluation for carts and checkouts, usage counting, site settings) and `CouponsService`.

Layout: `domain/` holds the rules in pure Python (evaluation, validation, usage decisions);
`proto_*.py` translate protos to and from it; `service_*.py` are the use cases (units of work);
`store_*.py` the repositories over `tables.py`; `api_*.py` the thin servicers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.discounts.v1 import (
    coupons_service_pb2,
    coupons_service_pb2_grpc,
    discount_rules_service_pb2,
    discount_rules_service_pb2_grpc,
)
from services.discounts.api_coupons import CouponsServicer
from services.discounts.api_rules import DiscountRulesServicer
from services.discounts.apps import AppChecks
from services.discounts.domain.model import CouponDefinition, RuleDefinition, StackingPolicy
from services.discounts.domain.usage import DEFAULT_RESERVATION_TTL
from services.discounts.service_applied import AppliedService
from services.discounts.service_coupons import CouponService
from services.discounts.service_rules import RuleService
from services.discounts.service_settings import SettingsService
from services.discounts.service_usage import UsageService
from services.discounts.store_common import DefinitionCache
from services.discounts.store_usage import UsageStore
from services.discounts.triggers_client import TriggerProviders
from services.platform.config import Config
from services.platform.db import Database, utcnow
from services.platform.module import Binding, ServiceModule

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("ecom.discounts")

RULES_SERVICE = discount_rules_service_pb2.DESCRIPTOR.services_by_name[
    "DiscountRulesService"
].full_name
COUPONS_SERVICE = coupons_service_pb2.DESCRIPTOR.services_by_name["CouponsService"].full_name
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
#: How often expired reservation holds are deleted (they already count for nothing).
HOUSEKEEPING_INTERVAL_S = 600.0


def default_stacking(config: Config) -> StackingPolicy:
    """The policy of sites that never updated their settings: ECOM_DISCOUNT_STACKING."""
    value = config.values.get("DISCOUNT_STACKING", "stack")
    return StackingPolicy.BEST_PER_ITEM if value == "best_per_item" else StackingPolicy.STACK_ALL


def reservation_ttl(config: Config) -> timedelta:
    """ECOM_DISCOUNT_RESERVATION_TTL_S when the deployment declares it, else 15 minutes."""
    seconds = config.values.get("DISCOUNT_RESERVATION_TTL_S")
    return timedelta(seconds=float(seconds)) if seconds else DEFAULT_RESERVATION_TTL


def _housekeeping(database: Database) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)

            async def purge(session: AsyncSession) -> int:
                return await UsageStore(session).purge_expired(utcnow())

            try:
                await database.run(purge)
            except Exception:
                log.warning("purging expired discount holds failed", exc_info=True)

    return run


async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
    database = runtime.database(MODULE.name)
    apps = AppChecks(runtime.providers)
    rule_cache: DefinitionCache[RuleDefinition] = DefinitionCache()
    coupon_cache: DefinitionCache[CouponDefinition] = DefinitionCache()
    stacking = default_stacking(runtime.config)
    rules = RuleService(database, apps, rule_cache)
    applied = AppliedService(
        database, rule_cache, coupon_cache, TriggerProviders(runtime.providers), stacking
    )
    usage = UsageService(
        database, rule_cache, coupon_cache, reservation_ttl=reservation_ttl(runtime.config)
    )
    settings = SettingsService(database, stacking)
    discount_rules_service_pb2_grpc.add_DiscountRulesServiceServicer_to_server(
        DiscountRulesServicer(rules, applied, usage, settings), server
    )
    coupons_service_pb2_grpc.add_CouponsServiceServicer_to_server(
        CouponsServicer(CouponService(database, apps, coupon_cache)), server
    )
    return Binding(
        service_names=[RULES_SERVICE, COUPONS_SERVICE], background=[_housekeeping(database)]
    )


MODULE = ServiceModule(
    name="discounts",
    bind=bind,
    migrations=MIGRATIONS,
    metadata_module="services.discounts.tables",
)

"""Counting uses exactly once per placed order: ReserveDiscountUsage, ReleaseDiscountUsage,
RecordDiscountUsage (discount_rules_service.proto).

Exactness under concurrency: a reservation locks the rows of the limited rules it names (in id
order) and of the coupon, then counts the uses others hold, then adds its own holds, all in one
transaction. Concurrent reservations of the same coupon therefore queue on the coupon's row, and
each counts the holds of every one that committed before it (PostgreSQL READ COMMITTED takes a
fresh snapshot per statement; SQLite runs writers one at a time). Twenty checkouts racing for the
last five uses get exactly five holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from services.discounts.domain.model import Coupon, CouponDefinition, RuleDefinition, code_key
from services.discounts.domain.status import coupon_usable
from services.discounts.domain.usage import (
    HoldKind,
    Reservation,
    ReservationState,
    distinct,
    reached_through,
    rules_exhausted,
    rules_not_live,
    usage_fingerprint,
)
from services.discounts.proto_common import timestamp
from services.discounts.service_rules import emit_limit_reached
from services.discounts.store_common import DefinitionCache
from services.discounts.store_coupons import CouponStore
from services.discounts.store_rules import RuleStore
from services.discounts.store_settings import SettingsStore
from services.discounts.store_usage import UsageStore
from services.platform.db import Database, utcnow
from services.platform.errors import FailedPrecondition


def _reservation_proto(reservation: Reservation) -> pb.DiscountUsageReservation:
    return pb.DiscountUsageReservation(
        reservation_id=reservation.reservation_id,
        discount_rule_ids=list(reservation.rule_ids),
        coupon_id=reservation.coupon_id or "",
        coupon_code=reservation.coupon_code,
        expiration_date=timestamp(reservation.expires),
    )


class UsageService:
    def __init__(
        self,
        database: Database,
        rule_cache: DefinitionCache[RuleDefinition],
        coupon_cache: DefinitionCache[CouponDefinition],
        *,
        reservation_ttl: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._rule_cache = rule_cache
        self._coupon_cache = coupon_cache
        self._ttl = reservation_ttl
        self._clock = clock

    async def reserve(
        self, site: str, reservation_id: str, rule_ids: Sequence[str], coupon_code: str
    ) -> pb.DiscountUsageReservation:
        named = distinct(rule_ids)

        async def unit(session: AsyncSession) -> pb.DiscountUsageReservation:
            now = self._clock()
            usage = UsageStore(session)
            current = await usage.lock_reservation(site, reservation_id, now)
            if current.state is ReservationState.RECORDED:
                raise FailedPrecondition(
                    "RESERVATION_ALREADY_RECORDED",
                    f"reservation {reservation_id} was already recorded for an order",
                    metadata={"order_id": current.order_id or ""},
                )
            rules = RuleStore(session, self._rule_cache)
            found = {rule.id: rule for rule in await rules.many(site, named)}
            not_live = rules_not_live(named, found, now)
            if not_live:
                raise FailedPrecondition(
                    "DISCOUNT_RULE_NOT_LIVE",
                    "a discount rule of the price no longer applies; price the checkout again",
                    metadata={"discount_rule_ids": ",".join(not_live)},
                )
            # Only rules with a limit hold uses: lock those (in id order), then count.
            limited = [r for r in named if found[r].definition.usage_limit is not None]
            locked = await rules.many(site, limited, lock=True)
            if len(locked) != len(limited):  # deleted since the first read
                gone = sorted(set(limited) - {rule.id for rule in locked})
                raise FailedPrecondition(
                    "DISCOUNT_RULE_NOT_LIVE",
                    "a discount rule of the price no longer exists; price the checkout again",
                    metadata={"discount_rule_ids": ",".join(gone)},
                )
            held = await usage.held_by_others(
                site, HoldKind.RULE, limited, now, exclude=reservation_id
            )
            exhausted = rules_exhausted(locked, held)
            if exhausted:
                raise FailedPrecondition(
                    "DISCOUNT_RULE_USAGE_EXHAUSTED",
                    "a discount rule of the price has no use left",
                    metadata={"discount_rule_ids": ",".join(exhausted)},
                )
            coupon = await self._reserve_coupon(session, site, reservation_id, coupon_code, now)
            targets = [(HoldKind.RULE, rule_id) for rule_id in limited]
            if coupon is not None and coupon.definition.usage_limit is not None:
                targets.append((HoldKind.COUPON, coupon.id))
            expires = now + self._ttl
            await usage.replace_holds(site, reservation_id, targets, expires)
            reservation = Reservation(
                reservation_id,
                named,
                coupon.id if coupon else None,
                coupon.code if coupon else "",
                ReservationState.OPEN,
                expires,
            )
            await usage.save_reservation(site, reservation, now)
            return _reservation_proto(reservation)

        return await self._database.run(unit)

    async def _reserve_coupon(
        self, session: AsyncSession, site: str, reservation_id: str, code: str, now: datetime
    ) -> Coupon | None:
        if not code_key(code):
            return None
        coupon = await CouponStore(session, self._coupon_cache).by_code(site, code, lock=True)
        held = 0
        if coupon is not None:
            counts = await UsageStore(session).held_by_others(
                site, HoldKind.COUPON, [coupon.id], now, exclude=reservation_id
            )
            held = counts.get(coupon.id, 0)
        problem = coupon_usable(coupon, now, held)
        if problem is not None:
            raise FailedPrecondition(
                problem.code,
                f"coupon {code.strip()!r} cannot be used ({problem.code})",
                metadata={"coupon_code": code.strip()},
            )
        return coupon

    async def release(self, site: str, reservation_id: str) -> bool:
        async def unit(session: AsyncSession) -> bool:
            now = self._clock()
            usage = UsageStore(session)
            current = await usage.reservation(site, reservation_id, lock=True)
            if current is None or current.state is not ReservationState.OPEN:
                return False
            await usage.drop_holds(site, reservation_id)
            await usage.save_reservation(
                site,
                Reservation(
                    current.reservation_id,
                    current.rule_ids,
                    current.coupon_id,
                    current.coupon_code,
                    ReservationState.RELEASED,
                    current.expires,
                ),
                now,
            )
            return current.holding(now)

        return await self._database.run(unit)

    async def record(
        self,
        site: str,
        order_id: str,
        reservation_id: str,
        rule_ids: Sequence[str],
        coupon_code: str,
    ) -> pb.RecordDiscountUsageResponse:
        named = distinct(rule_ids)
        print_ = usage_fingerprint(named, coupon_code)

        async def unit(session: AsyncSession) -> pb.RecordDiscountUsageResponse:
            now = self._clock()
            usage = UsageStore(session)
            stored = await usage.claim_record(site, order_id, print_, now)
            if stored is not None:
                return pb.RecordDiscountUsageResponse.FromString(stored)
            reserved_coupon_id = None
            if reservation_id:
                current = await usage.reservation(site, reservation_id, lock=True)
                if current is not None and current.state is ReservationState.OPEN:
                    if code_key(current.coupon_code) == code_key(coupon_code):
                        reserved_coupon_id = current.coupon_id
                    # Its held uses become the counted ones below; the rest are given back.
                    await usage.drop_holds(site, reservation_id)
                    await usage.save_reservation(
                        site,
                        Reservation(
                            current.reservation_id,
                            current.rule_ids,
                            current.coupon_id,
                            current.coupon_code,
                            ReservationState.RECORDED,
                            current.expires,
                            order_id,
                        ),
                        now,
                    )
            response = pb.RecordDiscountUsageResponse()
            rules = RuleStore(session, self._rule_cache)
            for rule_id in named:
                count = await rules.count_use(site, rule_id)
                if count is None:
                    continue  # deleted: skipped
                rule = await rules.get(site, rule_id)
                assert rule is not None
                limit = rule.definition.usage_limit
                usage_proto = pb.DiscountRuleUsage(discount_rule_id=rule_id, usage_count=count)
                if limit is not None:
                    usage_proto.usage_limit = limit
                response.discount_rule_usages.append(usage_proto)
                if reached_through(limit, count - 1, count):
                    await emit_limit_reached(session, site, rule, now)
            coupon_usage = await self._count_coupon(session, site, coupon_code, reserved_coupon_id)
            if coupon_usage is not None:
                response.coupon_usage.CopyFrom(coupon_usage)
            if response.discount_rule_usages or coupon_usage is not None:
                await SettingsStore(session).bump(site)  # counts decide status and limits
            await usage.store_response(
                site, order_id, response.SerializeToString(deterministic=True)
            )
            return response

        return await self._database.run(unit)

    async def _count_coupon(
        self, session: AsyncSession, site: str, code: str, reserved_id: str | None
    ) -> pb.CouponUsage | None:
        if not code_key(code):
            return None
        coupons = CouponStore(session, self._coupon_cache)
        # The reserved coupon is the one the order was priced with, even if its code changed.
        coupon = await coupons.get(site, reserved_id) if reserved_id else None
        if coupon is None:
            coupon = await coupons.by_code(site, code)
        if coupon is None:
            return None  # deleted: skipped
        count = await coupons.count_use(site, coupon.id)
        if count is None:
            return None
        result = pb.CouponUsage(coupon_id=coupon.id, number_of_usages=count)
        if coupon.definition.usage_limit is not None:
            result.usage_limit = coupon.definition.usage_limit
        return result

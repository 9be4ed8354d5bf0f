"""Reservations, their holds, and the per-order usage records, in the service's tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.discounts.domain.usage import HeldUses, HoldKind, Reservation, ReservationState
from services.discounts.tables import discount_holds, discount_reservations, discount_usage_records
from services.platform.db import for_update, insert_if_absent
from services.platform.errors import AlreadyExists

holds = discount_holds
reservations = discount_reservations
records = discount_usage_records


class UsageStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- holds -------------------------------------------------------------------------------

    async def held_by_others(
        self,
        site: str,
        kind: HoldKind,
        target_ids: Iterable[str],
        now: datetime,
        *,
        exclude: str = "",
    ) -> dict[str, int]:
        """Uses of each target held by unexpired reservations other than `exclude`.

        On PostgreSQL this runs after the caller locked the targets' rows, and READ COMMITTED
        gives each statement a fresh snapshot: the holds of every reservation that committed
        before the lock was granted are counted."""
        return dict((await self.held_uses(site, kind, target_ids, now, exclude=exclude)).counts)

    async def held_uses(
        self,
        site: str,
        kind: HoldKind,
        target_ids: Iterable[str],
        now: datetime,
        *,
        exclude: str = "",
    ) -> HeldUses:
        """`held_by_others`, with the earliest expiry of the holds it counted."""
        ids = sorted(set(target_ids))
        if not ids:
            return HeldUses({}, now, None)
        stmt = (
            sa.select(holds.c.target_id, sa.func.count(), sa.func.min(holds.c.expires_at))
            .where(
                holds.c.site == site,
                holds.c.kind == int(kind),
                holds.c.target_id.in_(ids),
                holds.c.expires_at > now,
                holds.c.reservation_id != exclude,
            )
            .group_by(holds.c.target_id)
        )
        result = (await self._session.execute(stmt)).all()
        counts = {str(target): int(count) for target, count, _ in result}
        return HeldUses(counts, now, min((first for _, _, first in result), default=None))

    async def replace_holds(
        self,
        site: str,
        reservation_id: str,
        targets: Iterable[tuple[HoldKind, str]],
        expires: datetime,
    ) -> None:
        await self.drop_holds(site, reservation_id)
        rows = [
            {
                "site": site,
                "reservation_id": reservation_id,
                "kind": int(kind),
                "target_id": target_id,
                "expires_at": expires,
            }
            for kind, target_id in sorted(set(targets))
        ]
        if rows:
            await self._session.execute(sa.insert(holds), rows)

    async def drop_holds(self, site: str, reservation_id: str) -> None:
        await self._session.execute(
            sa.delete(holds).where(holds.c.site == site, holds.c.reservation_id == reservation_id)
        )

    async def drop_holds_of(self, site: str, kind: HoldKind, target_id: str) -> None:
        """Give back every use of one target held by reservations (a deleted coupon)."""
        await self._session.execute(
            sa.delete(holds).where(
                holds.c.site == site, holds.c.kind == int(kind), holds.c.target_id == target_id
            )
        )

    # -- reservations ------------------------------------------------------------------------

    async def lock_reservation(self, site: str, reservation_id: str, now: datetime) -> Reservation:
        """The reservation, row-locked. A new one is created empty (RELEASED, holding nothing)
        first, so concurrent calls for one reservation id queue on its row."""
        await insert_if_absent(
            self._session,
            reservations,
            {
                "site": site,
                "reservation_id": reservation_id,
                "state": int(ReservationState.RELEASED),
                "rule_ids": [],
                "coupon_id": None,
                "coupon_code": "",
                "order_id": None,
                "expires_at": now,
                "created_at": now,
                "updated_at": now,
            },
            ("site", "reservation_id"),
        )
        found = await self.reservation(site, reservation_id, lock=True)
        assert found is not None
        return found

    async def reservation(
        self, site: str, reservation_id: str, *, lock: bool = False
    ) -> Reservation | None:
        stmt = sa.select(reservations).where(
            reservations.c.site == site, reservations.c.reservation_id == reservation_id
        )
        if lock:
            stmt = for_update(self._session, stmt)
        row = (await self._session.execute(stmt)).mappings().first()
        if row is None:
            return None
        return Reservation(
            reservation_id=row["reservation_id"],
            rule_ids=tuple(row["rule_ids"] or ()),
            coupon_id=row["coupon_id"],
            coupon_code=row["coupon_code"],
            state=ReservationState(row["state"]),
            expires=row["expires_at"],
            order_id=row["order_id"],
        )

    async def save_reservation(self, site: str, reservation: Reservation, now: datetime) -> None:
        await self._session.execute(
            sa.update(reservations)
            .where(
                reservations.c.site == site,
                reservations.c.reservation_id == reservation.reservation_id,
            )
            .values(
                state=int(reservation.state),
                rule_ids=list(reservation.rule_ids),
                coupon_id=reservation.coupon_id,
                coupon_code=reservation.coupon_code,
                order_id=reservation.order_id,
                expires_at=reservation.expires,
                updated_at=now,
            )
        )

    # -- usage records -----------------------------------------------------------------------

    async def claim_record(
        self, site: str, order_id: str, fingerprint: str, now: datetime
    ) -> bytes | None:
        """Claim `order_id` for this call: None when it is ours (count the uses), else the first
        call's stored response. Another request for the same order is ALREADY_EXISTS."""
        claimed = await insert_if_absent(
            self._session,
            records,
            {
                "site": site,
                "order_id": order_id,
                "fingerprint": fingerprint,
                "response": b"",
                "created_at": now,
            },
            ("site", "order_id"),
        )
        if claimed:
            return None
        row = (
            await self._session.execute(
                sa.select(records.c.fingerprint, records.c.response).where(
                    records.c.site == site, records.c.order_id == order_id
                )
            )
        ).one()
        if row.fingerprint != fingerprint:
            raise AlreadyExists(
                "USAGE_ALREADY_RECORDED",
                f"usage of order {order_id} was already recorded with other rules or coupon",
                metadata={"order_id": order_id},
            )
        return bytes(row.response)

    async def store_response(self, site: str, order_id: str, response: bytes) -> None:
        await self._session.execute(
            sa.update(records)
            .where(records.c.site == site, records.c.order_id == order_id)
            .values(response=response)
        )

    async def purge_expired(self, now: datetime, limit: int = 1000) -> int:
        """Housekeeping: delete up to `limit` expired holds (they count for nothing already)."""
        doomed = (
            sa.select(holds.c.site, holds.c.reservation_id, holds.c.kind, holds.c.target_id)
            .where(holds.c.expires_at <= now)
            .limit(limit)
        )
        key = sa.tuple_(holds.c.site, holds.c.reservation_id, holds.c.kind, holds.c.target_id)
        result = await self._session.execute(sa.delete(holds).where(key.in_(doomed)))
        return int(getattr(result, "rowcount", 0) or 0)

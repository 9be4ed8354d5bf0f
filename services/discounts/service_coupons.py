"""Coupons' use cases: each a unit of work over the store. Coupon changes emit no events
(CONTRACT.md names none)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import sqlalchemy.exc
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.discounts.v1 import coupons_service_pb2 as pb
from services.discounts.apps import AppChecks
from services.discounts.domain.model import Coupon, CouponDefinition, code_key
from services.discounts.domain.queries import Query, encode_token, fingerprint
from services.discounts.domain.updates import merge_coupon
from services.discounts.domain.usage import HoldKind
from services.discounts.domain.validation import coupon_problems
from services.discounts.proto_coupons import coupon_to_proto
from services.discounts.store_common import DefinitionCache
from services.discounts.store_coupons import RESOURCE, CouponStore, sort_values
from services.discounts.store_settings import SettingsStore
from services.discounts.store_usage import UsageStore
from services.platform.db import Database, utcnow
from services.platform.errors import AlreadyExists, NotFound, Violations, check_revision
from services.platform.idempotency import run_idempotent

CREATE_SCOPE = "ecom.discounts.v1.CouponsService/CreateCoupon"
PREFIX = "coupon."


def not_found(coupon_id: str) -> NotFound:
    return NotFound(
        "COUPON_NOT_FOUND", f"no coupon {coupon_id} on this site", metadata={"coupon_id": coupon_id}
    )


def code_taken(existing: Coupon) -> AlreadyExists:
    return AlreadyExists(
        "COUPON_CODE_ALREADY_EXISTS",
        f"coupon code {existing.code!r} is already used by another coupon of this site "
        "(codes compare case-insensitively)",
        metadata={"coupon_id": existing.id},
    )


class CouponService:
    def __init__(
        self,
        database: Database,
        apps: AppChecks,
        cache: DefinitionCache[CouponDefinition],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._apps = apps
        self._cache = cache
        self._clock = clock

    def store(self, session: AsyncSession) -> CouponStore:
        return CouponStore(session, self._cache)

    async def _check(
        self, site: str, definition: CouponDefinition, problems: Violations, *, scope_changed: bool
    ) -> None:
        for violation in coupon_problems(definition):
            problems.add(PREFIX + violation.field, violation.description)
        problems.raise_if_any()
        if scope_changed and definition.scope is not None:
            await self._apps.check_scopes(site, PREFIX, [("scope", definition.scope)])

    async def _holder_of(self, site: str, code: str, own_id: str) -> Coupon | None:
        async def read(session: AsyncSession) -> Coupon | None:
            return await self.store(session).by_code(site, code)

        holder = await self._database.run(read, readonly=True)
        return holder if holder is not None and holder.id != own_id else None

    async def create(
        self,
        site: str,
        definition: CouponDefinition,
        problems: Violations,
        *,
        request_id: str,
        request: Message,
    ) -> pb.CreateCouponResponse:
        await self._check(site, definition, problems, scope_changed=True)
        now = self._clock()
        coupon = Coupon(str(uuid.uuid4()), definition, 1, 0, now, now)

        async def insert(session: AsyncSession) -> pb.CreateCouponResponse:
            store = self.store(session)
            existing = await store.by_code(site, definition.code)
            if existing is not None:
                raise code_taken(existing)
            await store.add(site, coupon)
            await SettingsStore(session).bump(site)
            return pb.CreateCouponResponse(coupon=coupon_to_proto(coupon, now))

        async def unit(session: AsyncSession) -> pb.CreateCouponResponse:
            return await run_idempotent(
                session,
                site=site,
                scope=CREATE_SCOPE,
                request_id=request_id,
                request=request,
                response_type=pb.CreateCouponResponse,
                produce=lambda: insert(session),
            )

        try:
            return await self._database.run(unit)
        except sqlalchemy.exc.IntegrityError:
            # A concurrent create of the same code won the unique constraint.
            holder = await self._holder_of(site, definition.code, coupon.id)
            if holder is None:
                raise
            raise code_taken(holder) from None

    async def get(self, site: str, coupon_id: str) -> Coupon:
        async def read(session: AsyncSession) -> Coupon | None:
            return await self.store(session).get(site, coupon_id)

        coupon = await self._database.run(read, readonly=True)
        if coupon is None:
            raise not_found(coupon_id)
        return coupon

    async def update(
        self,
        site: str,
        coupon_id: str,
        incoming: CouponDefinition,
        paths: frozenset[str],
        expected_revision: int,
        problems: Violations,
    ) -> Coupon:
        seen = await self.get(site, coupon_id)
        check_revision(RESOURCE, expected_revision, seen.revision)
        merged = merge_coupon(seen.definition, incoming, paths)
        await self._check(site, merged, problems, scope_changed="scope" in paths)
        now = self._clock()

        async def write(session: AsyncSession) -> Coupon:
            store = self.store(session)
            current = await store.get(site, coupon_id, lock=True)
            if current is None:
                raise not_found(coupon_id)
            check_revision(RESOURCE, expected_revision, current.revision)
            definition = merge_coupon(current.definition, incoming, paths)
            if code_key(definition.code) != code_key(current.code):
                holder = await store.by_code(site, definition.code)
                if holder is not None:
                    raise code_taken(holder)
            updated = replace(
                current, definition=definition, revision=current.revision + 1, updated=now
            )
            await store.replace(site, updated)
            await SettingsStore(session).bump(site)
            return updated

        try:
            return await self._database.run(write)
        except sqlalchemy.exc.IntegrityError:
            holder = await self._holder_of(site, merged.code, coupon_id)
            if holder is None:
                raise
            raise code_taken(holder) from None

    async def delete(self, site: str, coupon_id: str) -> None:
        async def remove(session: AsyncSession) -> None:
            if not await self.store(session).delete(site, coupon_id):
                raise not_found(coupon_id)
            await SettingsStore(session).bump(site)
            # Open reservations holding a use of it are dropped (coupons_service.proto).
            await UsageStore(session).drop_holds_of(site, HoldKind.COUPON, coupon_id)

        await self._database.run(remove)

    async def query(self, site: str, query: Query) -> tuple[list[Coupon], str, datetime]:
        now = self._clock()

        async def read(session: AsyncSession) -> list[Coupon]:
            return await self.store(session).query(site, query, now)

        found = await self._database.run(read, readonly=True)
        page = found[: query.page_size]
        token = ""
        if len(found) > query.page_size:
            token = encode_token(
                sort_values(page[-1], query.sort), fingerprint(query.filter, query.sort)
            )
        return page, token, now

"""CheckoutService.CreateOrder: order placement as a saga keyed by the checkout id.

Steps (their progress is the `placements` row of the checkout, written before each step's side
effect is attempted, so a crash between any two steps leaves a state a later call resumes):

- VALIDATING: recalculate the checkout, store it, check the preconditions.
- RESERVING: at once, ReserveInventory at every inventory provider of the lines and, when the
  price includes discount rules or a coupon, ReserveDiscountUsage at the discounts service (one
  use of each; reservation id = the checkout id for both). All or nothing: a stock shortage, a
  refused usage (COUPON_USAGE_EXHAUSTED, DISCOUNT_RULE_NOT_LIVE...: FAILED_PRECONDITION with
  that reason) or a failure releases both and reopens the checkout. The inventory apps and the
  usage are written to the placement before the calls, so whoever resumes knows what may be
  held.
- RESERVED: stock and uses are held. CreateOrder at the orders service (checkout_id and
  request_id = the checkout id, so a repeated call finds the order made before). A definitive
  refusal releases stock and uses and reopens the checkout (ORDER_REJECTED); a transient failure
  keeps them and answers UNAVAILABLE: the next call resumes here without validating again.
- ORDERED: the order exists. One transaction completes the checkout (`completed`, `order_id`,
  `checkout_completed`, abandoned record RECOVERED) and marks the placement COMPLETED with the
  follow-ups owed; CommitInventory and RecordDiscountUsage (order id, reservation id) follow,
  one attempt each, and are retried in the background until they succeed.

Concurrent calls are serialized by a lease on the placement row: one call runs the saga, the
others wait (within their deadline) and answer with its order id, or take over when its lease
expired (its process died). A placement nobody resumes within
`CheckoutSettings.reservation_timeout_s` is finished by `Finisher`: if the orders service has an
order for the checkout it is completed, otherwise the stock and the uses are released and the
checkout reopens.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2
from ecom.common.v1 import catalog_pb2
from services.checkout import preconditions, store, writes
from services.checkout.calculate import Calculated, Draft
from services.checkout.domain import (
    CHECKOUT_ALREADY_COMPLETED,
    ORDER_CREATION_IN_PROGRESS,
    authorize,
    not_found,
)
from services.checkout.inventory import Inventory, Item, ReserveOutcome
from services.checkout.orders_mapping import order_from
from services.checkout.peers import OrderRejected, OrdersClient, OrdersUnavailable
from services.checkout.service import CheckoutService
from services.checkout.settings import CheckoutSettings
from services.checkout.store import Placement, StoredCheckout
from services.checkout.writes import StaleWrite
from services.discounts.usage_client import Usage, UsageClient, UsageRefused, UsageUnavailable
from services.platform.db import Database, utcnow
from services.platform.deadlines import Deadline
from services.platform.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    Unavailable,
    Violations,
    check_revision,
)
from services.platform.idempotency import REQUEST_ID_REUSED
from services.platform.identity import Caller
from services.pricing import InvalidAmountError, parse_amount

log = logging.getLogger("ecom.checkout.saga")

VALIDATING = "VALIDATING"
RESERVING = "RESERVING"
RESERVED = "RESERVED"
ORDERED = "ORDERED"
COMPLETED = "COMPLETED"
UNFINISHED = (VALIDATING, RESERVING, RESERVED, ORDERED)

#: How long a call holds the placement when it has no deadline of its own.
DEFAULT_LEASE_S = 30.0
#: The RetryInfo delay of ABORTED ORDER_CREATION_IN_PROGRESS: the other call usually finishes
#: within a second, and a retry then answers with its order at once.
IN_PROGRESS_RETRY_S = 1.0
#: Time given to one attempt of a follow-up (release, commit, record) after the buyer's answer
#: is settled; what does not go through is the finisher's to retry.
FOLLOW_UP_S = 2.0
_POLL_FIRST_S = 0.02
_POLL_MAX_S = 0.2


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Placed:
    order_id: str
    checkout: checkout_pb2.Checkout


@dataclass(frozen=True)
class _Lease:
    """A placement this call holds, and the checkout as read in the transaction that took it
    (current from then on: a running placement freezes the checkout for every mutation)."""

    placement: Placement
    stored: StoredCheckout


class Placer:
    def __init__(
        self,
        database: Database,
        service: CheckoutService,
        inventory: Inventory,
        orders: OrdersClient,
        usage: UsageClient,
        settings: CheckoutSettings,
    ) -> None:
        self.db = database
        self.service = service
        self.inventory = inventory
        self.orders = orders
        self.usage = usage
        self.settings = settings
        self._instance = instance_id()

    # ------------------------------------------------------------------ the RPC

    async def create_order(
        self,
        caller: Caller,
        request: checkout_service_pb2.CreateOrderRequest,
        remaining_s: float | None,
    ) -> Placed:
        problems = Violations()
        if not request.id:
            problems.add("id", "required")
        if request.expected_total:
            try:
                parse_amount(request.expected_total)
            except InvalidAmountError as exc:
                problems.add("expected_total", str(exc))
        problems.raise_if_any()
        site = caller.site
        deadline = Deadline(remaining_s)
        stored = await self._stored(site, request.id)
        authorize(caller, stored.buyer_kind, stored.buyer_id)
        if request.request_id:
            await self._claim_request_id(site, request.request_id, request.id)
        done = _finished(stored)
        if done is not None:
            return done
        owner = f"{self._instance}:{uuid.uuid4().hex[:8]}"
        while True:
            lease, finished = await self._acquire(site, request.id, owner, deadline)
            if finished is not None:
                return finished
            assert lease is not None
            try:
                return await self._run(caller, lease, request, deadline)
            except _Retake:
                continue
            finally:
                # Completion and a dropped placement free the lease themselves.
                if lease.placement.lease_owner == owner:
                    await self._let_go(request.id, owner)

    async def _claim_request_id(self, site: str, request_id: str, checkout_id: str) -> None:
        async def unit(session: AsyncSession) -> str:
            return await store.claim_order_request_id(
                session, site, request_id, checkout_id, utcnow()
            )

        bound = await self.db.run(unit)
        if bound != checkout_id:
            raise AlreadyExists(
                REQUEST_ID_REUSED,
                f"request id {request_id!r} was already used for another checkout",
                metadata={"request_id": request_id},
            )

    # ------------------------------------------------------------------ the lease

    async def _acquire(
        self, site: str, checkout_id: str, owner: str, deadline: Deadline
    ) -> tuple[_Lease | None, Placed | None]:
        """Hold the checkout's placement, or learn that it was completed meanwhile. Waits for
        another holder within the deadline."""
        pause = _POLL_FIRST_S
        while True:
            taken = await self.db.run(
                lambda s: self._try_take(s, site, checkout_id, owner, deadline)
            )
            if isinstance(taken, Placed):
                return None, taken
            if taken is not None:
                return taken, None
            left = deadline.remaining()
            if left is not None and left < pause + 0.05:
                raise Conflict(
                    ORDER_CREATION_IN_PROGRESS,
                    "another call is creating the order for this checkout; retry to get it",
                    retry_after_s=IN_PROGRESS_RETRY_S,
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_MAX_S)

    async def _try_take(
        self,
        session: AsyncSession,
        site: str,
        checkout_id: str,
        owner: str,
        deadline: Deadline,
        *,
        start: bool = True,
    ) -> _Lease | Placed | None:
        """Take the placement's lease (starting a placement when there is none and `start`);
        the answer when the checkout is completed; None when someone else holds it."""
        stored = await store.load(session, site, checkout_id, lock=True)
        if stored is None:
            raise not_found(checkout_id)
        done = _finished(stored)
        if done is not None:
            return done
        now = utcnow()
        expires = now + timedelta(seconds=_lease_s(deadline))
        placement = await store.load_placement(session, checkout_id, lock=True)
        if placement is None and not start:
            return None
        if placement is None:
            placement = Placement(
                checkout_id=checkout_id,
                site=site,
                step=VALIDATING,
                order_id=None,
                reserved_apps=[],
                commit_pending=False,
                lease_owner=owner,
                lease_expires=expires,
                started=now,
                updated=now,
            )
            await store.insert_placement(session, placement)
            return _Lease(placement, stored)
        if placement.step == COMPLETED:
            return None  # completion is committing right now; look again
        if placement.lease_owner not in (None, owner) and (
            placement.lease_expires is not None and placement.lease_expires > now
        ):
            return None
        await store.update_placement(session, checkout_id, lease_owner=owner, lease_expires=expires)
        placement.lease_owner, placement.lease_expires = owner, expires
        return _Lease(placement, stored)

    async def _let_go(self, checkout_id: str, owner: str) -> None:
        """Free the lease (when still ours) so the next call need not wait for it to expire."""

        async def unit(session: AsyncSession) -> None:
            placement = await store.load_placement(session, checkout_id, lock=True)
            if placement is not None and placement.lease_owner == owner:
                await store.update_placement(
                    session, checkout_id, lease_owner=None, lease_expires=None
                )

        try:
            await asyncio.shield(self.db.run(unit))
        except Exception:
            log.warning("could not free the placement lease of %s", checkout_id, exc_info=True)

    # ------------------------------------------------------------------ the steps

    async def _run(
        self,
        caller: Caller,
        lease: _Lease,
        request: checkout_service_pb2.CreateOrderRequest,
        deadline: Deadline,
    ) -> Placed:
        site = caller.site
        placement = lease.placement
        checkout_id = placement.checkout_id
        #: The checkout as stored, once this call validated it (nothing changes it afterwards).
        validated: checkout_pb2.Checkout | None = None
        if placement.step in (VALIDATING, RESERVING):
            checkout = await self._validate(caller, placement, request, deadline, lease.stored)
            asked = await self._reserve(site, placement, checkout, deadline)
            placement.step, placement.reserved_apps = RESERVED, asked
            await self._set_step(checkout_id, RESERVED, reserved_apps=asked)
            validated = checkout
        if placement.step == RESERVED:
            if validated is None:  # resumed here: the checkout was validated by an earlier call
                validated = (await self._stored(site, checkout_id)).checkout
            try:
                order_id = await self.orders.create(
                    site, order_from(validated), remaining_s=deadline.remaining()
                )
            except OrderRejected as rejected:
                await self._compensate(site, placement)
                raise FailedPrecondition(
                    "ORDER_REJECTED",
                    f"the orders service rejected the order: {rejected.message}",
                    metadata={"orders_code": rejected.code, "orders_reason": rejected.reason},
                ) from None
            except OrdersUnavailable as exc:
                log.warning("order of checkout %s not created yet: %s", checkout_id, exc)
                raise Unavailable(
                    "ORDERS_UNAVAILABLE",
                    "the orders service did not confirm the order; retry: the stock and discount "
                    "uses stay reserved and the retry resumes here",
                    retry_after_s=1.0,
                ) from None
            placement.step, placement.order_id = ORDERED, order_id
            await self._set_step(checkout_id, ORDERED, order_id=order_id)
        if placement.step == ORDERED:
            assert placement.order_id is not None
            checkout = await self._complete(site, placement)
            await self._settle(site, placement, timeout_s=FOLLOW_UP_S)
            return Placed(placement.order_id, checkout)
        raise _Retake  # pragma: no cover - COMPLETED placements are never handed out

    async def _stored(self, site: str, checkout_id: str) -> StoredCheckout:
        stored = await self.db.run(
            lambda session: store.load(session, site, checkout_id), readonly=True
        )
        if stored is None:
            raise not_found(checkout_id)
        return stored

    async def _validate(
        self,
        caller: Caller,
        placement: Placement,
        request: checkout_service_pb2.CreateOrderRequest,
        deadline: Deadline,
        read: StoredCheckout,
    ) -> checkout_pb2.Checkout:
        """Step 1: recalculate, store (event when changed), check the preconditions. A failure
        ends the placement (releasing what an interrupted earlier attempt may hold). `read` is
        the checkout as the lease found it; a lost write race reads it again."""
        site = caller.site
        stored: StoredCheckout | None = read
        try:
            while True:
                if stored is None:
                    stored = await self._stored(site, placement.checkout_id)
                check_revision("checkout", request.revision, stored.revision)
                calculated = await self.service.calculate(
                    site,
                    Draft(_copy(stored.checkout), stored.sources.copy()),
                    deadline,
                    fresh=True,
                )
                try:
                    checkout = await self._store_validated(site, stored.revision, calculated)
                except StaleWrite:
                    stored = None
                    continue
                preconditions.check(checkout, request.expected_total)
                return checkout
        except Exception:
            await self._end(site, placement, release=True)
            raise

    async def _store_validated(
        self, site: str, read_revision: int, calculated: Calculated
    ) -> checkout_pb2.Checkout:
        checkout_id = calculated.checkout.id

        async def unit(session: AsyncSession) -> checkout_pb2.Checkout:
            current = await store.load(session, site, checkout_id, lock=True)
            if current is None or current.revision != read_revision:
                raise StaleWrite
            return await writes.store_change(
                session,
                site,
                current,
                calculated.checkout,
                calculated.sources,
                utcnow(),
                self.settings,
            )

        return await self.db.run(unit)

    async def _reserve(
        self,
        site: str,
        placement: Placement,
        checkout: checkout_pb2.Checkout,
        deadline: Deadline,
    ) -> list[str]:
        """Step 2: hold the stock and the discount uses at once; the inventory apps asked. On any
        failure both are released, the placement is dropped (the checkout is open) and the
        error says why."""
        checkout_id = placement.checkout_id
        items = [
            Item(line.id, line.catalog_reference, line.quantity)
            for line in checkout.line_items
            if line.HasField("catalog_reference") and line.catalog_reference.app_id
        ]
        usage = usage_of(checkout)
        if not usage and placement.usage is not None:
            # An interrupted attempt held uses the price no longer includes: give them back
            # (when that fails they expire on their own; this order does not wait for them).
            await self._release_usage(site, placement)
        # Recorded before the calls: if this process dies mid-way, whoever resumes knows stock
        # and uses may be held.
        apps = sorted({item.reference.app_id for item in items})
        placement.step, placement.reserved_apps = RESERVING, apps
        placement.usage = usage.to_json() if usage else None
        await self._set_step(checkout_id, RESERVING, reserved_apps=apps, usage=placement.usage)
        outcome, refused = await asyncio.gather(
            self.inventory.reserve(site, checkout_id, items, deadline=deadline),
            self._hold_usage(site, checkout_id, usage, deadline),
        )
        if not outcome.ok:
            # The inventory released what it held; the uses go back too.
            await self._release_usage(site, placement)
            await self._fail_reservation(site, checkout_id, checkout, outcome)
        if refused is not None:
            await self._end(site, placement, release=True)
            raise refused
        return outcome.asked

    async def _hold_usage(
        self, site: str, checkout_id: str, usage: Usage, deadline: Deadline
    ) -> DomainError | None:
        """ReserveDiscountUsage for the checkout; the error CreateOrder answers with when the
        uses are not held (None when they are, or when the price includes none)."""
        if not usage:
            return None
        try:
            await self.usage.reserve(site, checkout_id, usage, remaining_s=deadline.remaining())
        except UsageRefused as refused:
            return FailedPrecondition(
                refused.reason,
                f"the checkout's discounts cannot be used: {refused.message}; the checkout stays "
                "open (remove the coupon, or update it so that it is priced again)",
                metadata=refused.metadata,
            )
        except UsageUnavailable as exc:
            return Unavailable(
                exc.reason,
                f"{exc.message}; nothing stays reserved, retry",
                retry_after_s=exc.retry_after_s,
            )
        return None

    async def _release_usage(self, site: str, placement: Placement) -> None:
        """Give back the uses the placement may hold (best effort: unreleased holds expire)."""
        if placement.usage is None:
            return
        await self.usage.release(site, placement.checkout_id, remaining_s=FOLLOW_UP_S)
        placement.usage = None

    async def _fail_reservation(
        self,
        site: str,
        checkout_id: str,
        checkout: checkout_pb2.Checkout,
        outcome: ReserveOutcome,
    ) -> None:
        """The reservation did not happen (and was released): reopen the checkout and say why."""
        if outcome.short:
            await self._mark_short(site, checkout_id, outcome)
            await self._delete(checkout_id)
            ids = ",".join(dict.fromkeys(short.line_id for short in outcome.short))
            raise FailedPrecondition(
                "INSUFFICIENT_INVENTORY",
                "there is not enough stock for some lines",
                metadata={"line_item_ids": ids},
                details=[
                    checkout_service_pb2.InsufficientInventory(
                        items=[
                            checkout_service_pb2.InsufficientInventory.ShortLineItem(
                                line_item_id=short.line_id,
                                catalog_reference=short.reference,
                                quantity_requested=_quantity(checkout, short.line_id),
                                quantity_available=short.available,
                            )
                            for short in outcome.short
                        ]
                    )
                ],
            )
        await self._delete(checkout_id)
        assert outcome.failure is not None
        transient, message = outcome.failure
        raise Unavailable(
            "PROVIDER_UNAVAILABLE" if transient else "PROVIDER_ERROR",
            f"stock could not be reserved: {message}",
        )

    async def _mark_short(self, site: str, checkout_id: str, outcome: ReserveOutcome) -> None:
        short = {item.line_id: item.available for item in outcome.short}

        async def unit(session: AsyncSession) -> None:
            stored = await store.load(session, site, checkout_id, lock=True)
            if stored is None:
                return
            checkout = _copy(stored.checkout)
            for line in checkout.line_items:
                if line.id in short:
                    available = short[line.id]
                    line.availability.status = (
                        catalog_pb2.AVAILABILITY_STATUS_PARTIALLY_AVAILABLE
                        if available > 0
                        else catalog_pb2.AVAILABILITY_STATUS_NOT_AVAILABLE
                    )
                    line.availability.quantity_available = available
            await writes.store_change(
                session, site, stored, checkout, stored.sources, utcnow(), self.settings
            )

        await self.db.run(unit)

    async def _complete(self, site: str, placement: Placement) -> checkout_pb2.Checkout:
        order_id = placement.order_id
        assert order_id is not None

        async def unit(session: AsyncSession) -> checkout_pb2.Checkout:
            stored = await store.load(session, site, placement.checkout_id, lock=True)
            if stored is None:
                raise not_found(placement.checkout_id)
            now = utcnow()
            await store.update_placement(
                session,
                placement.checkout_id,
                step=COMPLETED,
                order_id=order_id,
                commit_pending=bool(placement.reserved_apps),
                record_pending=placement.usage is not None,
                lease_owner=None,
                lease_expires=None,
                updated=now,
            )
            if stored.completed:
                return stored.checkout
            return await writes.complete(session, site, stored, order_id, now, self.settings)

        checkout = await self.db.run(unit)
        placement.step = COMPLETED
        placement.lease_owner = placement.lease_expires = None
        placement.commit_pending = bool(placement.reserved_apps)
        placement.record_pending = placement.usage is not None
        return checkout

    async def _settle(self, site: str, placement: Placement, *, timeout_s: float) -> None:
        """The follow-ups a placed order owes, one attempt each and at once: CommitInventory
        and RecordDiscountUsage. What does not go through stays owed to the finisher."""
        if not (placement.commit_pending or placement.record_pending):
            return
        assert placement.order_id is not None
        committed, recorded = await asyncio.gather(
            self._commit(site, placement, timeout_s),
            self._record(site, placement, timeout_s),
        )
        commit_pending, record_pending = not committed, not recorded

        async def unit(session: AsyncSession) -> None:
            await store.update_placement(
                session,
                placement.checkout_id,
                commit_pending=commit_pending,
                record_pending=record_pending,
                updated=utcnow(),
            )

        await self.db.run(unit)
        placement.commit_pending, placement.record_pending = commit_pending, record_pending

    async def _commit(self, site: str, placement: Placement, timeout_s: float) -> bool:
        if not placement.commit_pending:
            return True
        return await self.inventory.commit(
            site,
            placement.checkout_id,
            placement.reserved_apps,
            placement.order_id or "",
            # One attempt: the order is placed; a commit that does not go through at once is
            # the finisher's to retry, not the buyer's to wait for.
            deadline=Deadline(timeout_s),
            retry=False,
        )

    async def _record(self, site: str, placement: Placement, timeout_s: float) -> bool:
        """RecordDiscountUsage: the held uses become the order's counted ones (idempotent per
        order id, so a repeat after a lost answer counts nothing more)."""
        if not placement.record_pending:
            return True
        return await self.usage.record(
            site,
            placement.order_id or "",
            placement.checkout_id,
            Usage.from_json(placement.usage),
            remaining_s=timeout_s,
        )

    async def _compensate(self, site: str, placement: Placement) -> None:
        await self._end(site, placement, release=True)

    async def _end(self, site: str, placement: Placement, *, release: bool) -> None:
        """Give the stock and the discount uses back (when asked) and drop the placement: the
        checkout is open."""
        if release:
            await asyncio.gather(
                self.inventory.release(
                    site,
                    placement.checkout_id,
                    placement.reserved_apps,
                    deadline=Deadline(FOLLOW_UP_S),
                ),
                self._release_usage(site, placement),
            )
        await self._delete(placement.checkout_id)
        placement.lease_owner = placement.lease_expires = None  # the lease went with the row

    async def _delete(self, checkout_id: str) -> None:
        await self.db.run(lambda session: store.delete_placement(session, checkout_id))

    async def _set_step(self, checkout_id: str, step: str, **values: object) -> None:
        async def unit(session: AsyncSession) -> None:
            await store.update_placement(
                session, checkout_id, step=step, updated=utcnow(), **values
            )

        await self.db.run(unit)

    # ------------------------------------------------------------------ background

    async def finish_due(self, now: datetime | None = None) -> int:
        """Finish placements nobody resumed in time, and retry owed commits and usage records;
        returns how many placements were handled."""
        now = now or utcnow()
        cutoff = now - timedelta(seconds=self.settings.reservation_timeout_s)
        due = await self.db.run(
            lambda s: store.due_placements(s, steps=UNFINISHED, before=cutoff, limit=50),
            readonly=True,
        )
        handled = 0
        for placement in due:
            owner = f"{self._instance}:finisher"
            try:
                if await self._finish(placement, owner):
                    handled += 1
            except Exception:
                log.exception("could not finish the placement of %s", placement.checkout_id)
            finally:
                await self._let_go(placement.checkout_id, owner)
        retry_before = now - timedelta(seconds=self.settings.finisher_interval_s)
        owed = await self.db.run(
            lambda s: store.owed_commits(s, before=retry_before, limit=50), readonly=True
        )
        for placement in owed:
            await self._settle(placement.site, placement, timeout_s=5.0)
        return handled

    async def _finish(self, placement: Placement, owner: str) -> bool:
        taken = await self.db.run(
            lambda s: self._try_take(
                s, placement.site, placement.checkout_id, owner, Deadline(None), start=False
            )
        )
        if not isinstance(taken, _Lease) or taken.placement.step not in UNFINISHED:
            return False
        placement = taken.placement
        if placement.step in (RESERVED, ORDERED) and placement.order_id is None:
            try:
                placement.order_id = await self.orders.find(
                    placement.site, placement.checkout_id, remaining_s=5.0
                )
            except OrdersUnavailable:
                return False  # next round
        if placement.order_id is not None:
            await self._complete(placement.site, placement)
            await self._settle(placement.site, placement, timeout_s=FOLLOW_UP_S)
            log.info(
                "finished the placement of %s (order %s)", placement.checkout_id, placement.order_id
            )
            return True
        await self._end(placement.site, placement, release=True)
        log.info("released the abandoned placement of %s", placement.checkout_id)
        return True

    async def run_finisher(self) -> None:
        """Background job: `finish_due` every `finisher_interval_s`."""
        while True:
            try:
                await self.finish_due()
            except Exception:
                log.exception("placement finisher round failed")
            await asyncio.sleep(self.settings.finisher_interval_s)


class _Retake(Exception):
    """The placement must be acquired again."""


def _finished(stored: StoredCheckout) -> Placed | None:
    """The answer for a completed checkout: its order, or CHECKOUT_ALREADY_COMPLETED."""
    if not stored.completed:
        return None
    if stored.order_id:
        return Placed(stored.order_id, stored.checkout)
    raise FailedPrecondition(
        CHECKOUT_ALREADY_COMPLETED,
        "the checkout was completed without an order and never gets one",
    )


def usage_of(checkout: checkout_pb2.Checkout) -> Usage:
    """The discount uses an order of the checkout takes: its applied rules and coupon."""
    rule_ids: list[str] = []
    coupon_code = ""
    for applied in checkout.applied_discounts:
        kind = applied.WhichOneof("discount_source_type")
        if kind == "discount_rule" and applied.discount_rule.id:
            rule_ids.append(applied.discount_rule.id)
        elif kind == "coupon" and applied.coupon.id:
            # Only a coupon the discounts service applied (an unusable one is listed by its
            # code alone, without an id).
            coupon_code = applied.coupon.code
    return Usage.of(rule_ids, coupon_code)


def _lease_s(deadline: Deadline) -> float:
    left = deadline.remaining()
    return (min(left, 120.0) if left is not None else DEFAULT_LEASE_S) + 1.0


def _quantity(checkout: checkout_pb2.Checkout, line_id: str) -> int:
    return next((line.quantity for line in checkout.line_items if line.id == line_id), 0)


def _copy(checkout: checkout_pb2.Checkout) -> checkout_pb2.Checkout:
    copy = checkout_pb2.Checkout()
    copy.CopyFrom(checkout)
    return copy

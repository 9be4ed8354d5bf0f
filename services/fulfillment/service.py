"""The fulfillment use cases: each a unit of work over the store, with the order read from the
orders service where the rules need it.

Consistency with the orders service: an order's fulfillment status is computed here, in the
transaction that changes its fulfillments, and announced in a `fulfillments_updated` event
written to the outbox of that same transaction. The orders service applies the status from the
event. A committed change therefore always reaches the order (the relay retries until the event
is published, and the orders service's consumer resumes where it stopped), however long the
orders service is down; and nothing is committed without its event.

Reads of the orders service happen before the transaction, never inside it, so no database lock
(and on SQLite no write lock) is held across a network call. What is read there and used under
the lock is safe: an order's lines and buyer never change, and its status is only checked at
creation (a cancel racing a creation is ordered as if it came just after).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from services.fulfillment import convert, domain
from services.fulfillment.domain import (
    Action,
    Draft,
    Fulfillment,
    OrderFacts,
    Patch,
)
from services.fulfillment.orders_client import OrdersClient
from services.fulfillment.store import FulfillmentStore
from services.platform.db import Database, utcnow
from services.platform.errors import (
    DomainError,
    InvalidArgument,
    NotFound,
    Unavailable,
    Violations,
    check_revision,
)
from services.platform.idempotency import run_idempotent
from services.platform.identity import Caller
from services.platform.outbox import record_event

EVENT_TYPE = "ecom.fulfillment.v1.fulfillments_updated"
SERVICE = "ecom.fulfillment.v1.OrderFulfillmentsService"
CREATE_SCOPE = f"{SERVICE}/CreateFulfillment"
BULK_CREATE_SCOPE = f"{SERVICE}/BulkCreateFulfillments"
MAX_BULK_ORDERS = 100
MAX_BULK_FULFILLMENTS = 10


@dataclass(frozen=True)
class OrderFulfillments:
    order_id: str
    fulfillments: Sequence[Fulfillment]


@dataclass(frozen=True)
class BulkItem:
    order_id: str
    drafts: Sequence[Draft]


class FulfillmentService:
    def __init__(
        self,
        database: Database,
        orders: OrdersClient,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._orders = orders
        self._clock = clock

    # -- reads ---------------------------------------------------------------------------

    async def _read_local(
        self, site: str, order_ids: Sequence[str]
    ) -> tuple[dict[str, OrderFacts], dict[str, list[Fulfillment]]]:
        async def read(
            session: AsyncSession,
        ) -> tuple[dict[str, OrderFacts], dict[str, list[Fulfillment]]]:
            store = FulfillmentStore(session, site)
            return await store.known_orders(order_ids), await store.for_orders(order_ids)

        return await self._database.run(read, readonly=True)

    async def list_for_order(self, caller: Caller, order_id: str) -> OrderFulfillments:
        domain.check_id(order_id, "order_id")
        known, found = await self._read_local(caller.site, [order_id])
        # An order with fulfillments is known locally (its buyer too); otherwise ask orders,
        # which also tells an unknown order (NOT_FOUND) from one without fulfillments.
        order = known.get(order_id) or await self._orders.get(caller.site, order_id)
        if not caller.is_staff:
            domain.check_owner(order, caller.subject)
        return OrderFulfillments(order_id, found.get(order_id, []))

    async def list_for_orders(
        self, caller: Caller, order_ids: Sequence[str]
    ) -> list[OrderFulfillments]:
        ids = domain.check_order_ids(order_ids, "order_ids")
        known, found = await self._read_local(caller.site, ids)
        orders: dict[str, OrderFacts] = dict(known)
        missing = [order_id for order_id in ids if order_id not in known]
        for order_id, read in (await self._orders.get_many(caller.site, missing)).items():
            if isinstance(read, Unavailable):
                raise read
            if isinstance(read, OrderFacts):
                orders[order_id] = read  # NotFound: unknown orders are skipped
        return [
            OrderFulfillments(order_id, found.get(order_id, []))
            for order_id in ids
            if order_id in orders and (caller.is_staff or orders[order_id].owned_by(caller.subject))
        ]

    # -- writes --------------------------------------------------------------------------

    async def _announce(
        self,
        session: AsyncSession,
        site: str,
        order: OrderFacts,
        fulfillments: Sequence[Fulfillment],
        action: Action,
        fulfillment: Fulfillment,
    ) -> None:
        status = domain.fulfillment_status(order.lines, fulfillments)
        payload = convert.fulfillments_updated(order.id, fulfillments, action, fulfillment, status)
        await record_event(session, site=site, type=EVENT_TYPE, entity_id=order.id, payload=payload)

    async def _create(
        self, session: AsyncSession, site: str, order: OrderFacts, drafts: Sequence[Draft]
    ) -> tuple[list[Fulfillment], list[str]]:
        """Create the drafts in turn on the locked order; all of the order's fulfillments after,
        and the new ids. Each draft sees the ones before it, and gets its own event."""
        now = self._clock()
        store = FulfillmentStore(session, site)
        position = await store.lock_order(order, now)
        fulfillments = await store.for_order(order.id)
        new_ids: list[str] = []
        for draft in drafts:
            lines = domain.resolve_lines(order, fulfillments, draft)
            position += 1
            created = domain.new_fulfillment(order.id, position, lines, draft, now)
            await store.add(created)
            fulfillments = [*fulfillments, created]
            await self._announce(session, site, order, fulfillments, Action.CREATED, created)
            new_ids.append(created.id)
        return fulfillments, new_ids

    async def create(
        self, site: str, order_id: str, draft: Draft, *, request_id: str, request: Message
    ) -> pb.CreateFulfillmentResponse:
        domain.check_create(order_id, draft)
        order = await self._orders.get(site, order_id)

        async def unit(session: AsyncSession) -> pb.CreateFulfillmentResponse:
            async def produce() -> pb.CreateFulfillmentResponse:
                fulfillments, (new_id,) = await self._create(session, site, order, [draft])
                return pb.CreateFulfillmentResponse(
                    order_with_fulfillments=convert.order_with_fulfillments(order_id, fulfillments),
                    fulfillment_id=new_id,
                )

            return await run_idempotent(
                session,
                site=site,
                scope=CREATE_SCOPE,
                request_id=request_id,
                request=request,
                response_type=pb.CreateFulfillmentResponse,
                produce=produce,
            )

        return await self._database.run(unit)

    async def bulk_create(
        self, site: str, items: Sequence[BulkItem], *, request_id: str, request: Message
    ) -> pb.BulkCreateFulfillmentsResponse:
        invalid = _check_bulk(items)
        readable = [item.order_id for index, item in enumerate(items) if index not in invalid]
        reads = await self._orders.get_many(site, readable)
        for read in reads.values():
            # Fail the whole call rather than store item errors a retry could not get past:
            # nothing is committed, so a retry with the same request id runs everything again.
            if isinstance(read, Unavailable):
                raise read

        async def unit(session: AsyncSession) -> pb.BulkCreateFulfillmentsResponse:
            async def produce() -> pb.BulkCreateFulfillmentsResponse:
                results: dict[int, pb.BulkCreateFulfillmentsResult] = {}
                # Lock orders in id order, so two bulk calls over the same orders cannot
                # deadlock; results still come back in request order.
                for index in sorted(range(len(items)), key=lambda i: items[i].order_id):
                    item = items[index]
                    error = invalid.get(index)
                    read = reads.get(item.order_id)
                    if error is None and isinstance(read, NotFound):
                        error = read
                    if error is None and isinstance(read, OrderFacts):
                        try:
                            # A savepoint per order: its fulfillments all land, or none does.
                            async with session.begin_nested():
                                done, ids = await self._create(session, site, read, item.drafts)
                        except DomainError as exc:
                            error = exc
                        else:
                            results[index] = convert.bulk_success(index, item.order_id, done, ids)
                            continue
                    assert error is not None
                    results[index] = convert.bulk_failure(index, item.order_id, error)
                return convert.bulk_response([results[i] for i in range(len(items))])

            return await run_idempotent(
                session,
                site=site,
                scope=BULK_CREATE_SCOPE,
                request_id=request_id,
                request=request,
                response_type=pb.BulkCreateFulfillmentsResponse,
                produce=produce,
            )

        return await self._database.run(unit)

    async def _unknown_fulfillment(self, site: str, order_id: str, fulfillment_id: str) -> NoReturn:
        """Raise the NOT_FOUND that fits: the order's (asking orders) or the fulfillment's."""
        await self._orders.get(site, order_id)
        raise domain.fulfillment_not_found(order_id, fulfillment_id)

    async def update(
        self, site: str, order_id: str, fulfillment_id: str, patch: Patch
    ) -> OrderFulfillments:
        domain.check_patch(order_id, fulfillment_id, patch)

        async def write(session: AsyncSession) -> list[Fulfillment] | None:
            store = FulfillmentStore(session, site)
            known = await store.lock_known_order(order_id)
            if known is None:
                return None
            order, _ = known
            fulfillments = await store.for_order(order_id)
            current = _find(fulfillments, order_id, fulfillment_id)
            updated = domain.apply_patch(current, patch, self._clock())
            if updated is None:
                return fulfillments  # nothing changed: no new revision, no event
            await store.replace(updated)
            fulfillments = [updated if f.id == updated.id else f for f in fulfillments]
            await self._announce(session, site, order, fulfillments, Action.UPDATED, updated)
            return fulfillments

        fulfillments = await self._database.run(write)
        if fulfillments is None:
            await self._unknown_fulfillment(site, order_id, fulfillment_id)
        return OrderFulfillments(order_id, fulfillments)

    async def delete(
        self, site: str, order_id: str, fulfillment_id: str, revision: int
    ) -> OrderFulfillments:
        violations = Violations()
        if not order_id:
            violations.add("order_id", "required")
        if not fulfillment_id:
            violations.add("fulfillment_id", "required")
        violations.raise_if_any()

        async def write(session: AsyncSession) -> list[Fulfillment] | None:
            store = FulfillmentStore(session, site)
            known = await store.lock_known_order(order_id)
            if known is None:
                return None
            order, _ = known
            fulfillments = await store.for_order(order_id)
            doomed = _find(fulfillments, order_id, fulfillment_id)
            check_revision(domain.RESOURCE, revision, doomed.revision)
            await store.delete(doomed)
            fulfillments = [f for f in fulfillments if f.id != doomed.id]
            await self._announce(session, site, order, fulfillments, Action.DELETED, doomed)
            return fulfillments

        fulfillments = await self._database.run(write)
        if fulfillments is None:
            await self._unknown_fulfillment(site, order_id, fulfillment_id)
        return OrderFulfillments(order_id, fulfillments)


def _find(fulfillments: Sequence[Fulfillment], order_id: str, fulfillment_id: str) -> Fulfillment:
    for fulfillment in fulfillments:
        if fulfillment.id == fulfillment_id:
            return fulfillment
    raise domain.fulfillment_not_found(order_id, fulfillment_id)


def _check_bulk(items: Sequence[BulkItem]) -> dict[int, DomainError]:
    """Raise INVALID_ARGUMENT for what invalidates the whole call; return the item errors of
    drafts that are invalid on their own (by request index)."""
    field = "orders_with_fulfillments"
    violations = Violations()
    if not items:
        violations.add(field, "required: at least one order")
    elif len(items) > MAX_BULK_ORDERS:
        violations.add(field, f"at most {MAX_BULK_ORDERS} orders")
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not item.order_id:
            violations.add(f"{field}[{index}].order_id", "required")
        elif item.order_id in seen:
            violations.add(f"{field}[{index}].order_id", f"order {item.order_id!r} given twice")
        seen.add(item.order_id)
        if not item.drafts:
            violations.add(f"{field}[{index}].fulfillments", "required: at least one")
        elif len(item.drafts) > MAX_BULK_FULFILLMENTS:
            violations.add(
                f"{field}[{index}].fulfillments", f"at most {MAX_BULK_FULFILLMENTS} per order"
            )
    violations.raise_if_any()
    invalid: dict[int, DomainError] = {}
    for index, item in enumerate(items):
        drafts = Violations()
        for number, draft in enumerate(item.drafts):
            domain.check_draft(draft, f"fulfillments[{number}]", drafts)
        try:
            drafts.raise_if_any()
        except InvalidArgument as exc:
            invalid[index] = exc
    return invalid

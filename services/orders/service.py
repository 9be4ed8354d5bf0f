"""OrdersService's use cases: each one a unit of work over the store.

Every mutation of an existing order goes through `_in_unit`: the order row is locked, the
revision checked, the change applied and finished (revision, updated_date, activities, events)
in one transaction, so the order and the events announcing it commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy.exc
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.orders.v1 import events_pb2, order_pb2, orders_service_pb2
from services.orders import activities, events, intake, masks, restock
from services.orders.change import OrderChange
from services.orders.domain import lifecycle
from services.orders.domain.aggregation import Aggregator, Bucket
from services.orders.domain.enums import (
    EDITABLE_ACTIVITIES,
    ActivityType,
    GroupBy,
    OrderStatus,
)
from services.orders.domain.lines import restock_all
from services.orders.domain.search import (
    OrderFilter,
    OrderQuery,
    SortKey,
    SortValue,
    decode_token,
    encode_token,
    fingerprint,
    page_size,
)
from services.orders.domain.tags import TagChange
from services.orders.record import line_facts
from services.orders.restock import RestockWorker
from services.orders.store import OrderStore, StoredOrder
from services.platform import errors
from services.platform.db import Database, utcnow
from services.platform.idempotency import run_idempotent
from services.platform.identity import Caller

log = logging.getLogger("ecom.orders")

T = TypeVar("T")
M = TypeVar("M", bound=Message)

RESOURCE = "order"
SERVICE = "ecom.orders.v1.OrdersService"
MAX_BULK = 100
MAX_ACTIVITIES_PER_CALL = 300
MAX_EDITABLE_ACTIVITIES = 1000
MAX_MESSAGE = 1000

Mutation = Callable[[OrderChange], Awaitable[T]]


@dataclass(frozen=True)
class OrderPage:
    """One page of SearchOrders: the orders as stored (serialized `ecom.orders.v1.Order`
    messages, which the servicer parses straight into its response rather than parsing and
    copying each) and the token of the next page ("" on the last)."""

    documents: list[bytes]
    next_page_token: str


def order_not_found(order_id: str) -> errors.NotFound:
    return errors.NotFound(
        "ORDER_NOT_FOUND", f"no order {order_id!r} on this site", metadata={"order_id": order_id}
    )


def require(value: str, field_path: str) -> None:
    if not value:
        raise errors.InvalidArgument.of(field_path, "required")


def owns(caller: Caller, order: order_pb2.Order) -> bool:
    """Visitors and members own the orders whose visitor_id or member_id is their subject."""
    buyer = order.buyer_info
    return caller.subject in (buyer.visitor_id, buyer.member_id)


@dataclass(frozen=True)
class ItemResult:
    """One item of a bulk call: the order on success, the error otherwise."""

    id: str
    index: int
    order: order_pb2.Order | None = None
    error: errors.DomainError | None = None


class OrdersService:
    def __init__(
        self,
        database: Database,
        *,
        restock_worker: RestockWorker | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._restock = restock_worker
        self._clock = clock

    # -- creation -----------------------------------------------------------------------------

    async def create(
        self, request: orders_service_pb2.CreateOrderRequest, caller: Caller
    ) -> order_pb2.Order:
        prepared = intake.prepare(request, caller, self._clock())
        site, checkout_id = caller.site, prepared.checkout_id
        Response = orders_service_pb2.CreateOrderResponse

        async def insert(store: OrderStore) -> orders_service_pb2.CreateOrderResponse:
            order = order_pb2.Order()
            order.CopyFrom(prepared)  # a retried unit of work starts from the prepared order
            order.number = await store.next_number(site)
            order.activities.append(activities.system(ActivityType.ORDER_PLACED, self._clock()))
            await store.add(site, order)
            session = store.session
            await events.emit(
                session, site, events.ORDER_CREATED, order.id, events_pb2.OrderCreated(order=order)
            )
            if OrderStatus(order.status) is OrderStatus.APPROVED:
                await events.emit(
                    session,
                    site,
                    events.ORDER_APPROVED,
                    order.id,
                    events_pb2.OrderApproved(order=order),
                )
            return Response(order=order)

        async def unit(session: AsyncSession) -> orders_service_pb2.CreateOrderResponse:
            store = OrderStore(session)
            if checkout_id:
                existing = await self._by_checkout(store, site, checkout_id)
                if existing is not None:
                    return Response(order=existing)
            return await run_idempotent(
                session,
                site=site,
                scope=f"{SERVICE}/CreateOrder",
                request_id=request.request_id,
                request=request,
                response_type=Response,
                produce=lambda: insert(store),
            )

        try:
            return (await self._database.run(unit)).order
        except sqlalchemy.exc.IntegrityError:
            # A concurrent CreateOrder of the same checkout committed first (unique key).
            if not checkout_id:
                raise

            async def read(session: AsyncSession) -> order_pb2.Order | None:
                return await self._by_checkout(OrderStore(session), site, checkout_id)

            found = await self._database.run(read, readonly=True)
            if found is None:
                raise
            return found

    @staticmethod
    async def _by_checkout(
        store: OrderStore, site: str, checkout_id: str
    ) -> order_pb2.Order | None:
        order_id = await store.id_by_checkout(site, checkout_id)
        if order_id is None:
            return None
        stored = await store.load(site, order_id)
        return None if stored is None else stored.order

    # -- reads --------------------------------------------------------------------------------

    async def get(self, caller: Caller, order_id: str) -> order_pb2.Order:
        require(order_id, "id")

        async def read(session: AsyncSession) -> StoredOrder | None:
            return await OrderStore(session).load(caller.site, order_id)

        stored = await self._database.run(read, readonly=True)
        if stored is None:
            raise order_not_found(order_id)
        if not caller.is_staff and not owns(caller, stored.order):
            raise errors.PermissionDenied("NOT_OWNER", "the order belongs to another buyer")
        return stored.order

    async def search(
        self,
        caller: Caller,
        query_filter: OrderFilter,
        sort: tuple[SortKey, ...],
        requested_size: int,
        page_token: str,
    ) -> OrderPage:
        if not caller.is_staff:
            if query_filter.private_tags:
                raise errors.PermissionDenied(
                    "PRIVATE_TAGS_NOT_ALLOWED", "only admin and service callers see private tags"
                )
            query_filter = replace(query_filter, owner=caller.subject)
        size = page_size(requested_size)
        key = fingerprint(query_filter, sort)
        after = decode_token(page_token, key, sort) if page_token else None
        query = OrderQuery(query_filter, sort, size, after)

        async def read(session: AsyncSession) -> list[tuple[bytes, tuple[SortValue, ...]]]:
            return await OrderStore(session).search(caller.site, query)

        rows = await self._database.run(read, readonly=True)
        page = rows[:size]
        token = encode_token(page[-1][1], key) if len(rows) > size else ""
        return OrderPage([document for document, _values in page], token)

    async def aggregate(
        self, site: str, query_filter: OrderFilter, group_by: GroupBy, zone: Any
    ) -> list[Bucket]:
        async def read(session: AsyncSession) -> list[Bucket]:
            aggregator = Aggregator(group_by, zone)
            async for row in OrderStore(session).aggregation_rows(site, query_filter):
                aggregator.add(row)
            return aggregator.buckets()

        # REPEATABLE READ: one snapshot, even if the driver fetches the rows in several trips.
        return await self._database.run(read, readonly=True, isolation="REPEATABLE READ")

    # -- the unit of work of a change -----------------------------------------------------------

    async def _in_unit(
        self,
        session: AsyncSession,
        site: str,
        order_id: str,
        revision: int,
        mutate: Mutation[T],
    ) -> tuple[order_pb2.Order, T]:
        store = OrderStore(session)
        stored = await store.load(site, order_id, lock=True)
        if stored is None:
            raise order_not_found(order_id)
        errors.check_revision(RESOURCE, revision, stored.order.revision)
        change = OrderChange(store, site, stored, self._clock())
        result = await mutate(change)
        return await change.finish(), result

    async def _change(
        self, site: str, order_id: str, revision: int, mutate: Mutation[T]
    ) -> tuple[order_pb2.Order, T]:
        async def unit(session: AsyncSession) -> tuple[order_pb2.Order, T]:
            return await self._in_unit(session, site, order_id, revision, mutate)

        return await self._database.run(unit)

    # -- UpdateOrder / BulkUpdateOrders --------------------------------------------------------

    @staticmethod
    def _check_update(values: order_pb2.Order, paths: Sequence[str]) -> tuple[str, ...]:
        problems = errors.Violations()
        if not values.id:
            problems.add("order.id", "required")
        checked = masks.check_paths(paths, masks.ORDER_PATHS, problems)
        if "buyer_info.email" in checked:
            masks.check_email(values.buyer_info.email, "order.buyer_info.email", problems)
        problems.raise_if_any()
        return checked

    async def update(
        self, site: str, values: order_pb2.Order, paths: Sequence[str]
    ) -> order_pb2.Order:
        checked = self._check_update(values, paths)

        async def mutate(change: OrderChange) -> None:
            order = change.order
            email, destination = order.buyer_info.email, masks.shipping_destination(order)
            masks.apply(checked, values, order)
            _drop_empty(order)
            if order.buyer_info.email != email:
                change.record(ActivityType.EMAIL_EDITED)
            if masks.shipping_destination(order) != destination:
                change.record(ActivityType.SHIPPING_ADDRESS_EDITED)

        order, _ = await self._change(site, values.id, values.revision, mutate)
        return order

    async def bulk_update(
        self, site: str, items: Sequence[tuple[order_pb2.Order, Sequence[str]]]
    ) -> list[ItemResult]:
        if not items or len(items) > MAX_BULK:
            raise errors.InvalidArgument.of("orders", f"must hold 1..{MAX_BULK} items")
        seen: set[str] = set()
        for index, (values, _paths) in enumerate(items):
            if values.id and values.id in seen:
                raise errors.InvalidArgument.of(
                    f"orders[{index}].order.id", "the same order is named twice"
                )
            seen.add(values.id)
        results = []
        for index, (values, paths) in enumerate(items):
            try:
                order = await self.update(site, values, paths)
            except errors.DomainError as exc:
                results.append(ItemResult(values.id, index, error=exc))
            else:
                results.append(ItemResult(values.id, index, order=order))
        return results

    # -- status ---------------------------------------------------------------------------------

    async def cancel(
        self,
        site: str,
        order_id: str,
        *,
        send_email: bool,
        custom_message: str,
        restock_items: bool,
        revision: int,
    ) -> order_pb2.Order:
        require(order_id, "id")
        if len(custom_message) > MAX_MESSAGE:
            raise errors.InvalidArgument.of("custom_message", f"at most {MAX_MESSAGE} characters")

        async def mutate(change: OrderChange) -> int:
            order = change.order
            lifecycle.check_cancelable(OrderStatus(order.status))
            order.status = order_pb2.ORDER_STATUS_CANCELED
            quantities = restock_all(line_facts(order).values()) if restock_items else {}
            for line in order.line_items:
                line.restock_quantity += quantities.get(line.id, 0)
            change.record(ActivityType.ORDER_CANCELED)
            change.emit(
                events.ORDER_CANCELED,
                lambda final: events_pb2.OrderCanceled(
                    order=final,
                    send_order_canceled_email=send_email,
                    custom_message=custom_message,
                    restock_all_items=restock_items,
                ),
            )
            return await restock.add_jobs(change.store.session, site, order, quantities, "cancel")

        order, jobs = await self._change(site, order_id, revision, mutate)
        if jobs and self._restock is not None:
            self._restock.wake()
        return order

    async def approve(self, site: str, order_id: str, revision: int) -> order_pb2.Order:
        require(order_id, "id")

        async def mutate(change: OrderChange) -> None:
            if lifecycle.approves(OrderStatus(change.order.status)):
                change.order.status = order_pb2.ORDER_STATUS_APPROVED
                change.record(ActivityType.ORDER_APPROVED)
                change.emit(
                    events.ORDER_APPROVED, lambda final: events_pb2.OrderApproved(order=final)
                )

        order, _ = await self._change(site, order_id, revision, mutate)
        return order

    async def set_archived(self, site: str, order_id: str, archived: bool) -> order_pb2.Order:
        require(order_id, "id")

        async def mutate(change: OrderChange) -> None:
            change.order.archived = archived

        order, _ = await self._change(site, order_id, 0, mutate)
        return order

    # -- lines ----------------------------------------------------------------------------------

    async def update_line_item(
        self,
        site: str,
        order_id: str,
        values: order_pb2.OrderLineItem,
        paths: Sequence[str],
        revision: int,
    ) -> order_pb2.Order:
        problems = errors.Violations()
        if not order_id:
            problems.add("id", "required")
        if not values.id:
            problems.add("line_item.id", "required")
        checked = masks.check_paths(paths, masks.LINE_PATHS, problems)
        if "product_name" in checked and not values.product_name.original:
            problems.add("line_item.product_name.original", "required: a line keeps its name")
        problems.raise_if_any()

        async def mutate(change: OrderChange) -> None:
            line = next((li for li in change.order.line_items if li.id == values.id), None)
            if line is None:
                raise errors.NotFound(
                    "LINE_ITEM_NOT_FOUND",
                    f"the order has no line {values.id!r}",
                    metadata={"line_item_id": values.id},
                )
            masks.apply(checked, values, line)

        order, _ = await self._change(site, order_id, revision, mutate)
        return order

    # -- activities -----------------------------------------------------------------------------

    async def add_activities(
        self,
        site: str,
        order_id: str,
        public: Sequence[order_pb2.PublicActivity],
        *,
        id_field: str,
        list_field: str | None,
        request: Message,
        request_id: str,
        respond: Callable[[order_pb2.Order, list[str]], M],
        response_type: type[M],
    ) -> M:
        """AddActivity (`list_field` None: one activity) and AddActivities, idempotent."""
        problems = errors.Violations()
        if not order_id:
            problems.add(id_field, "required")
        if list_field is not None and not 1 <= len(public) <= MAX_ACTIVITIES_PER_CALL:
            problems.add(list_field, f"must hold 1..{MAX_ACTIVITIES_PER_CALL} activities")
        for index, item in enumerate(public):
            path = "activity" if list_field is None else f"{list_field}[{index}]"
            activities.check_public(item, path, problems)
        problems.raise_if_any()
        scope = f"{SERVICE}/{'AddActivity' if list_field is None else 'AddActivities'}"

        async def mutate(change: OrderChange) -> list[str]:
            editable = sum(
                1 for a in change.order.activities if ActivityType(a.type) in EDITABLE_ACTIVITIES
            )
            if editable + len(public) > MAX_EDITABLE_ACTIVITIES:
                raise errors.FailedPrecondition(
                    "ACTIVITY_LIMIT_EXCEEDED",
                    f"an order holds at most {MAX_EDITABLE_ACTIVITIES} merchant comments and "
                    "custom activities",
                    metadata={"limit": str(MAX_EDITABLE_ACTIVITIES)},
                )
            return [change.append(activities.from_public(p, change.now)).id for p in public]

        async def unit(session: AsyncSession) -> M:
            async def produce() -> M:
                order, ids = await self._in_unit(session, site, order_id, 0, mutate)
                return respond(order, ids)

            return await run_idempotent(
                session,
                site=site,
                scope=scope,
                request_id=request_id,
                request=request,
                response_type=response_type,
                produce=produce,
            )

        return await self._database.run(unit)

    async def update_activity(
        self,
        site: str,
        order_id: str,
        activity_id: str,
        public: order_pb2.PublicActivity,
        revision: int,
    ) -> order_pb2.Order:
        problems = errors.Violations()
        if not order_id:
            problems.add("id", "required")
        if not activity_id:
            problems.add("activity_id", "required")
        kind = activities.check_public(public, "activity", problems)
        problems.raise_if_any()

        async def mutate(change: OrderChange) -> None:
            activity = _editable_activity(change.order, activity_id)
            if ActivityType(activity.type) is not kind:
                raise errors.InvalidArgument.of(
                    "activity.content", "the activity's kind cannot change"
                )
            activities.fill(activity, public)

        order, _ = await self._change(site, order_id, revision, mutate)
        return order

    async def delete_activity(
        self, site: str, order_id: str, activity_id: str, revision: int
    ) -> order_pb2.Order:
        problems = errors.Violations()
        if not order_id:
            problems.add("id", "required")
        if not activity_id:
            problems.add("activity_id", "required")
        problems.raise_if_any()

        async def mutate(change: OrderChange) -> None:
            activity = _editable_activity(change.order, activity_id)
            change.order.activities.remove(activity)

        order, _ = await self._change(site, order_id, revision, mutate)
        return order

    # -- tags -----------------------------------------------------------------------------------

    async def bulk_update_tags(
        self,
        site: str,
        order_ids: Sequence[str],
        public: TagChange,
        private: TagChange,
    ) -> list[ItemResult]:
        if not order_ids or len(order_ids) > MAX_BULK:
            raise errors.InvalidArgument.of("order_ids", f"must hold 1..{MAX_BULK} ids")
        for index, order_id in enumerate(order_ids):
            if not order_id:
                raise errors.InvalidArgument.of(f"order_ids[{index}]", "must not be empty")
        if len(set(order_ids)) != len(order_ids):
            raise errors.InvalidArgument.of("order_ids", "an order is named twice")

        async def mutate(change: OrderChange) -> None:
            tag_list = change.order.tags
            new_public = public.apply(tag_list.tags)
            new_private = private.apply(tag_list.private_tags)
            if (new_public, new_private) != (tuple(tag_list.tags), tuple(tag_list.private_tags)):
                tag_list.tags[:] = list(new_public)
                tag_list.private_tags[:] = list(new_private)
                change.tags_changed = True

        results = []
        for index, order_id in enumerate(order_ids):
            try:
                order, _ = await self._change(site, order_id, 0, mutate)
            except errors.DomainError as exc:
                results.append(ItemResult(order_id, index, error=exc))
            else:
                results.append(ItemResult(order_id, index, order=order))
        return results


def _editable_activity(order: order_pb2.Order, activity_id: str) -> order_pb2.Activity:
    activity = next((a for a in order.activities if a.id == activity_id), None)
    if activity is None:
        raise errors.NotFound(
            "ACTIVITY_NOT_FOUND",
            f"the order has no activity {activity_id!r}",
            metadata={"activity_id": activity_id},
        )
    if ActivityType(activity.type) not in EDITABLE_ACTIVITIES:
        raise errors.FailedPrecondition(
            "ACTIVITY_NOT_EDITABLE",
            "only merchant comments and custom activities can be edited or deleted",
            metadata={"activity_id": activity_id},
        )
    return activity


def _drop_empty(order: order_pb2.Order) -> None:
    """An address set to an empty message is no address: keep the stored form canonical."""
    if order.HasField("recipient_info") and order.recipient_info.ByteSize() == 0:
        order.ClearField("recipient_info")
    logistics = order.shipping_info.logistics
    if (
        logistics.HasField("shipping_destination")
        and logistics.shipping_destination.ByteSize() == 0
    ):
        logistics.ClearField("shipping_destination")
    if order.HasField("shipping_info") and order.shipping_info.ByteSize() == 0:
        order.ClearField("shipping_info")

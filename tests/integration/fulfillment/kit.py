"""Helpers of the fulfillment tests: a scriptable OrdersService peer (a real grpc.aio server
behind the platform's interceptor, so our service token is really verified), the fulfillment
service on a real server pointed at it, and readers for statuses and events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.common.v1 import buyer_pb2
from ecom.events.v1 import event_pb2
from ecom.fulfillment.v1 import events_pb2, fulfillment_pb2
from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from ecom.fulfillment.v1 import order_fulfillments_service_pb2_grpc as pb_grpc
from ecom.orders.v1 import order_pb2, orders_service_pb2, orders_service_pb2_grpc
from services.platform import errors
from services.platform.events.bus import EventBus
from services.platform.identity import Caller, Role, current_caller
from services.platform.module import Binding, ServiceModule
from services.platform.runtime import Runtime
from services.platform.server import RunningServer
from tests.integration.unimplemented import UnimplementedOrdersService

EVENT_TYPE = "ecom.fulfillment.v1.fulfillments_updated"
APPROVED = order_pb2.ORDER_STATUS_APPROVED
INITIALIZED = order_pb2.ORDER_STATUS_INITIALIZED
CANCELED = order_pb2.ORDER_STATUS_CANCELED
NOT_FULFILLED = order_pb2.FULFILLMENT_STATUS_NOT_FULFILLED
PARTIALLY_FULFILLED = order_pb2.FULFILLMENT_STATUS_PARTIALLY_FULFILLED
FULFILLED = order_pb2.FULFILLMENT_STATUS_FULFILLED
CREATED = events_pb2.FULFILLMENT_ACTION_CREATED
UPDATED = events_pb2.FULFILLMENT_ACTION_UPDATED
DELETED = events_pb2.FULFILLMENT_ACTION_DELETED


class OrdersPeer(UnimplementedOrdersService):
    """GetOrder over orders the test puts in, per site; records who called."""

    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], order_pb2.Order] = {}
        self.callers: list[Caller] = []
        self.fail: grpc.StatusCode | None = None

    def add(
        self,
        site: str,
        *quantities: int,
        status: order_pb2.OrderStatus.ValueType = APPROVED,
        visitor_id: str = "",
        member_id: str = "",
    ) -> order_pb2.Order:
        order = order_pb2.Order(id=str(uuid.uuid4()), status=status)
        for quantity in quantities:
            order.line_items.add(id=str(uuid.uuid4()), quantity=quantity)
        if visitor_id:
            order.buyer_info.CopyFrom(buyer_pb2.BuyerInfo(visitor_id=visitor_id))
        elif member_id:
            order.buyer_info.CopyFrom(buyer_pb2.BuyerInfo(member_id=member_id))
        self.orders[(site, order.id)] = order
        return order

    async def GetOrder(
        self, request: orders_service_pb2.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> orders_service_pb2.GetOrderResponse:
        caller = current_caller()
        self.callers.append(caller)
        if self.fail is not None:
            await context.abort(self.fail, "scripted failure")
        order = self.orders.get((caller.site, request.id))
        if order is None:
            raise errors.NotFound("ORDER_NOT_FOUND", f"no order {request.id}")
        return orders_service_pb2.GetOrderResponse(order=order)

    def module(self) -> ServiceModule:
        async def bind(runtime: Runtime, server: grpc.aio.Server) -> Binding:
            orders_service_pb2_grpc.add_OrdersServiceServicer_to_server(self, server)
            return Binding(service_names=["ecom.orders.v1.OrdersService"])

        return ServiceModule(name="orders_peer", bind=bind)


@dataclass
class Suite:
    fulfillment: RunningServer
    orders_server: RunningServer
    orders: OrdersPeer
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    orders_stopped: bool = False

    def stub(self) -> pb_grpc.OrderFulfillmentsServiceStub:
        """A stub on a channel of its own (concurrent callers each get one)."""
        channel = grpc.aio.insecure_channel(self.fulfillment.address)
        self.channels.append(channel)
        return pb_grpc.OrderFulfillmentsServiceStub(channel)

    def md(
        self, site: str, role: Role = Role.ADMIN, subject: str = "admin-1"
    ) -> tuple[tuple[str, str], ...]:
        token = self.fulfillment.runtime.tokens.mint(role=role, site=site, subject=subject)
        return (("authorization", f"Bearer {token}"),)

    @property
    def bus(self) -> EventBus:
        return self.fulfillment.runtime.bus

    async def stop_orders(self) -> None:
        self.orders_stopped = True
        await self.orders_server.stop(0)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        await self.fulfillment.stop(0)
        if not self.orders_stopped:
            await self.orders_server.stop(0)


def new_fulfillment(
    *lines: tuple[str, int], provider: str = "", number: str = "", link: str = "", **fields: object
) -> fulfillment_pb2.Fulfillment:
    fulfillment = fulfillment_pb2.Fulfillment(
        line_items=[fulfillment_pb2.FulfillmentLineItem(id=i, quantity=q) for i, q in lines],
        **fields,  # type: ignore[arg-type]
    )
    if provider or number or link:
        fulfillment.tracking_info.CopyFrom(
            fulfillment_pb2.TrackingInfo(
                tracking_number=number, shipping_provider=provider, tracking_link=link
            )
        )
    return fulfillment


def create_request(
    order: order_pb2.Order, *lines: tuple[int, int], request_id: str = "", **fields: object
) -> pb.CreateFulfillmentRequest:
    """Lines by index into the order's lines: (index, quantity)."""
    ids = [(order.line_items[index].id, quantity) for index, quantity in lines]
    return pb.CreateFulfillmentRequest(
        order_id=order.id,
        fulfillment=new_fulfillment(*ids, **fields),  # type: ignore[arg-type]
        request_id=request_id,
    )


def details(exc: grpc.aio.AioRpcError) -> tuple[dict[str, str], set[str], float | None]:
    """(ErrorInfo metadata + {"reason", "domain"}, BadRequest field paths, RetryInfo seconds)."""
    status = rpc_status.from_call(exc)
    info: dict[str, str] = {}
    fields: set[str] = set()
    retry: float | None = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            unpacked = error_details_pb2.ErrorInfo()
            detail.Unpack(unpacked)
            info = {**unpacked.metadata, "reason": unpacked.reason, "domain": unpacked.domain}
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields |= {v.field for v in bad.field_violations}
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry_info = error_details_pb2.RetryInfo()
            detail.Unpack(retry_info)
            retry = retry_info.retry_delay.ToTimedelta().total_seconds()
    return info, fields, retry


@dataclass(frozen=True)
class Announced:
    sequence: int
    payload: events_pb2.FulfillmentsUpdated


async def events_of(
    bus: EventBus, site: str, order_id: str, count: int, timeout_s: float = 15.0
) -> list[Announced]:
    """The first `count` fulfillments_updated events of the order, waiting for them (bounded)."""
    found: list[event_pb2.Event] = []
    position: str | None = None
    async with asyncio.timeout(timeout_s):
        while len(found) < count:
            batch = await bus.scan(site, after=position, types=[EVENT_TYPE], wait_s=1.0)
            found.extend(e for e in batch.events if e.entity_id == order_id)
            position = batch.position
    announced = []
    for event in found:
        payload = events_pb2.FulfillmentsUpdated()
        assert event.payload.Unpack(payload)
        announced.append(Announced(event.entity_sequence, payload))
    return announced


def statuses(announced: Sequence[Announced]) -> list[tuple[int, int, int]]:
    """(entity_sequence, action, order_fulfillment_status) per event."""
    return [(a.sequence, a.payload.action, a.payload.order_fulfillment_status) for a in announced]

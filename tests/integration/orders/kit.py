"""Helpers of the orders tests: a running orders service and its stubs, tokens, order and payment
builders, rich-status decoding, and reading the events the service published."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.common.v1 import channel_pb2, money_pb2
from ecom.events.v1 import event_pb2
from ecom.orders.v1 import (
    events_pb2,
    order_pb2,
    order_transactions_service_pb2,
    order_transactions_service_pb2_grpc,
    orders_service_pb2,
    orders_service_pb2_grpc,
    transactions_pb2,
)
from services.platform import outbox
from services.platform.identity import Role
from services.platform.server import RunningServer
from tests.helpers import eventually

Metadata = tuple[tuple[str, str], ...]
pb = orders_service_pb2
tx = order_transactions_service_pb2

ORDER_EVENTS = "ecom.orders.v1."
_PAYLOADS: dict[str, type[Message]] = {
    "ecom.orders.v1.order_created": events_pb2.OrderCreated,
    "ecom.orders.v1.order_updated": events_pb2.OrderUpdated,
    "ecom.orders.v1.order_approved": events_pb2.OrderApproved,
    "ecom.orders.v1.order_canceled": events_pb2.OrderCanceled,
    "ecom.orders.v1.order_payment_status_updated": events_pb2.OrderPaymentStatusUpdated,
    "ecom.orders.v1.order_transactions_updated": events_pb2.OrderTransactionsUpdated,
}


@dataclass
class Served:
    """The orders service on a real server, and stubs on one channel to it."""

    running: RunningServer
    channel: grpc.aio.Channel

    @property
    def orders(self) -> orders_service_pb2_grpc.OrdersServiceStub:
        return orders_service_pb2_grpc.OrdersServiceStub(self.channel)

    @property
    def transactions(self) -> order_transactions_service_pb2_grpc.OrderTransactionsServiceStub:
        return order_transactions_service_pb2_grpc.OrderTransactionsServiceStub(self.channel)

    def token(self, site: str, role: Role = Role.ADMIN, subject: str = "admin-1") -> Metadata:
        minted = self.running.runtime.tokens.mint(role=role, site=site, subject=subject)
        return (("authorization", f"Bearer {minted}"),)

    def admin(self, site: str) -> Metadata:
        return self.token(site, Role.ADMIN, "admin-1")

    async def events(self, site: str, order_id: str, count: int) -> list[event_pb2.Event]:
        """The order's events, in bus order, once at least `count` are published and the
        service's outbox is empty (so every event of the calls made so far is there)."""
        found: list[event_pb2.Event] = []
        database = self.running.runtime.database("orders")

        async def published() -> bool:
            nonlocal found
            if await database.run(outbox.pending_count, readonly=True):
                return False
            events = await self.running.runtime.bus.read(site, types=[ORDER_EVENTS], limit=1000)
            found = [e for e in events if e.entity_id == order_id]
            return len(found) >= count

        await eventually(published)
        return found


def event_types(events: Sequence[event_pb2.Event]) -> list[str]:
    return [e.type.rpartition(".")[2] for e in events]


def payload(event: event_pb2.Event) -> Message:
    message = _PAYLOADS[event.type]()
    assert event.payload.Unpack(message)
    return message


def price(amount: str) -> money_pb2.Price:
    return money_pb2.Price(amount=amount)


def line(
    *,
    price_amount: str = "10.00",
    quantity: int = 1,
    name: str = "Mug",
    item_id: str = "",
    app_id: str = "",
    line_id: str = "",
) -> order_pb2.OrderLineItem:
    item = order_pb2.OrderLineItem(id=line_id, quantity=quantity, price=price(price_amount))
    item.product_name.original = name
    if item_id:
        item.catalog_reference.catalog_item_id = item_id
        item.catalog_reference.app_id = app_id or "catalog-app"
    return item


def new_order(
    *,
    total: str = "30.00",
    lines: Sequence[order_pb2.OrderLineItem] | None = None,
    currency: str = "USD",
    checkout_id: str = "",
    email: str = "",
    member_id: str = "",
    visitor_id: str = "",
    channel: int = channel_pb2.CHANNEL_TYPE_WEB,
) -> order_pb2.Order:
    order = order_pb2.Order(
        currency=currency,
        checkout_id=checkout_id,
        line_items=list(lines) if lines is not None else [line(price_amount="10.00", quantity=3)],
    )
    order.price_summary.subtotal.amount = total
    order.price_summary.total.amount = total
    order.channel_info.type = channel  # type: ignore[assignment]
    if email:
        order.buyer_info.email = email
    if member_id:
        order.buyer_info.member_id = member_id
    if visitor_id:
        order.buyer_info.visitor_id = visitor_id
    return order


async def create(
    served: Served, site: str, order: order_pb2.Order, **kwargs: object
) -> order_pb2.Order:
    response: pb.CreateOrderResponse = await served.orders.CreateOrder(
        pb.CreateOrderRequest(order=order, **kwargs),  # type: ignore[arg-type]
        metadata=served.admin(site),
    )
    return response.order


def regular(
    amount: str, status: int = transactions_pb2.TRANSACTION_STATUS_APPROVED
) -> transactions_pb2.Payment:
    return transactions_pb2.Payment(
        amount=price(amount),
        regular_payment_details=transactions_pb2.RegularPaymentDetails(
            status=status,  # type: ignore[arg-type]
            payment_method="CreditCard",
        ),
    )


def gift_card(amount: str) -> transactions_pb2.Payment:
    return transactions_pb2.Payment(
        amount=price(amount),
        gift_card_payment_details=transactions_pb2.GiftCardPaymentDetails(
            gift_card_id=str(uuid.uuid4())
        ),
    )


def details(exc: grpc.aio.AioRpcError) -> tuple[str, dict[str, str], set[str]]:
    """(ErrorInfo reason, ErrorInfo metadata, BadRequest field paths) of a failed call."""
    status = rpc_status.from_call(exc)
    reason, metadata, fields = "", {}, set()
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields = {v.field for v in bad.field_violations}
    return reason, metadata, fields

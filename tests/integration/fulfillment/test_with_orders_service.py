"""The fulfillment service with the real orders service, each on its own server, sharing only
the event bus (Redis): the order's fulfillment status follows every change, and converges after
the orders service was stopped while fulfillments changed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc
import pytest

from ecom.common.v1 import channel_pb2, money_pb2
from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from ecom.fulfillment.v1 import order_fulfillments_service_pb2_grpc as pb_grpc
from ecom.orders.v1 import order_pb2, orders_service_pb2, orders_service_pb2_grpc
from services.fulfillment import MODULE as FULFILLMENT
from services.platform.config import Config
from services.platform.identity import Role
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server
from tests.integration.fulfillment.kit import (
    CREATED,
    DELETED,
    FULFILLED,
    NOT_FULFILLED,
    PARTIALLY_FULFILLED,
    create_request,
    details,
    events_of,
    statuses,
)

orders_package = pytest.importorskip("services.orders", reason="the orders service is not built")
ORDERS = orders_package.MODULE

pytestmark = pytest.mark.integration

#: Bound of every wait for the orders service to catch up.
CONVERGE_S = 20.0


@dataclass
class Pair:
    orders_config: Config
    orders_server: RunningServer
    fulfillment: RunningServer
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(address)
        self.channels.append(channel)
        return channel

    def fulfillments(self) -> pb_grpc.OrderFulfillmentsServiceStub:
        return pb_grpc.OrderFulfillmentsServiceStub(self._channel(self.fulfillment.address))

    def orders(self) -> orders_service_pb2_grpc.OrdersServiceStub:
        return orders_service_pb2_grpc.OrdersServiceStub(self._channel(self.orders_server.address))

    def md(self, site: str) -> tuple[tuple[str, str], ...]:
        token = self.fulfillment.runtime.tokens.mint(role=Role.ADMIN, site=site, subject="admin")
        return (("authorization", f"Bearer {token}"),)

    async def stop_orders(self) -> None:
        await stop_server(self.orders_server)

    async def restart_orders(self) -> None:
        """A new orders process on the same address, database and bus."""
        self.orders_server = await start_server(
            Runtime(self.orders_config), [ORDERS], port=self.orders_server.port
        )

    async def new_order(self, site: str, *quantities: int) -> order_pb2.Order:
        order = order_pb2.Order(currency="USD")
        order.channel_info.type = channel_pb2.CHANNEL_TYPE_WEB
        order.price_summary.total.amount = f"{10 * sum(quantities)}.00"
        for n, quantity in enumerate(quantities):
            order.line_items.add(
                product_name=money_pb2.LocalizedText(original=f"item {n}"),
                quantity=quantity,
                price=money_pb2.Price(amount="10.00"),
            )
        stub, md = self.orders(), self.md(site)
        created = await stub.CreateOrder(
            orders_service_pb2.CreateOrderRequest(order=order), metadata=md
        )
        approved: orders_service_pb2.ApproveOrderResponse = await stub.ApproveOrder(
            orders_service_pb2.ApproveOrderRequest(id=created.order.id), metadata=md
        )
        assert approved.order.status == order_pb2.ORDER_STATUS_APPROVED
        assert approved.order.fulfillment_status == NOT_FULFILLED
        return approved.order

    async def converged(self, site: str, order_id: str, status: int) -> order_pb2.Order:
        """The order once its fulfillment status is `status` (bounded wait; between reads it
        waits for the next order event on the bus rather than for a fixed time)."""
        bus = self.fulfillment.runtime.bus
        position = await bus.head(site)
        async with asyncio.timeout(CONVERGE_S):
            while True:
                with contextlib.suppress(grpc.aio.AioRpcError):  # orders may be restarting
                    got: orders_service_pb2.GetOrderResponse = await self.orders().GetOrder(
                        orders_service_pb2.GetOrderRequest(id=order_id), metadata=self.md(site)
                    )
                    if got.order.fulfillment_status == status:
                        return got.order
                batch = await bus.scan(site, after=position, types=["ecom.orders.v1."], wait_s=1.0)
                position = batch.position

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        await stop_server(self.fulfillment)
        with contextlib.suppress(Exception):  # already stopped by the test
            await stop_server(self.orders_server)


async def stop_server(running: RunningServer) -> None:
    """`running.stop(0)`, cancelling its background tasks again until they are gone.

    Workaround: redis-py may swallow a cancellation that lands in a blocking XREAD (the orders
    service's event consumer waits in one), and `RunningServer.stop` cancels once and then
    waits for the task forever. Cancelling again ends it at its next await.
    """
    stopping = asyncio.ensure_future(running.stop(0))
    while not stopping.done():
        await asyncio.wait([stopping], timeout=1.0)
        for task in running.tasks:
            if not task.done():
                task.cancel()
    await stopping


@pytest.fixture
async def pair(
    make_config: Callable[..., Config],
    database_environ: dict[str, str],
    redis_url: str,
    key_prefix: str,
) -> AsyncIterator[Pair]:
    # Two servers, two runtimes: events cross between them only through Redis.
    environ = {
        **database_environ,
        "ECOM_REDIS_URL": redis_url,
        "ECOM_KEY_PREFIX": f"{key_prefix}{uuid.uuid4().hex[:8]}:",
    }
    orders_config = make_config(**environ)
    orders_server = await start_server(Runtime(orders_config), [ORDERS])
    fulfillment = await start_server(
        Runtime(make_config(**environ, ECOM_ORDERS_ADDR=orders_server.address)), [FULFILLMENT]
    )
    running = Pair(orders_config, orders_server, fulfillment)
    yield running
    await running.close()


async def test_the_order_follows_the_fulfillment_status_table(pair: Pair, site: str) -> None:
    order = await pair.new_order(site, 2, 1)
    stub, md = pair.fulfillments(), pair.md(site)

    first = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    await pair.converged(site, order.id, PARTIALLY_FULFILLED)
    second = await stub.CreateFulfillment(create_request(order, (0, 0), (1, 0)), metadata=md)
    await pair.converged(site, order.id, FULFILLED)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(create_request(order, (1, 1)), metadata=md)
    assert details(caught.value)[0]["reason"] == "FULFILLMENT_QUANTITY_EXCEEDED"
    await stub.DeleteFulfillment(
        pb.DeleteFulfillmentRequest(order_id=order.id, fulfillment_id=second.fulfillment_id),
        metadata=md,
    )
    await pair.converged(site, order.id, PARTIALLY_FULFILLED)
    await stub.DeleteFulfillment(
        pb.DeleteFulfillmentRequest(order_id=order.id, fulfillment_id=first.fulfillment_id),
        metadata=md,
    )
    await pair.converged(site, order.id, NOT_FULFILLED)
    assert statuses(await events_of(pair.fulfillment.runtime.bus, site, order.id, 4)) == [
        (1, CREATED, PARTIALLY_FULFILLED),
        (2, CREATED, FULFILLED),
        (3, DELETED, PARTIALLY_FULFILLED),
        (4, DELETED, NOT_FULFILLED),
    ]


async def test_the_status_converges_after_the_orders_service_was_down(
    pair: Pair, site: str
) -> None:
    order = await pair.new_order(site, 3)
    stub, md = pair.fulfillments(), pair.md(site)
    first = await stub.CreateFulfillment(create_request(order, (0, 1)), metadata=md)
    await pair.converged(site, order.id, PARTIALLY_FULFILLED)

    await pair.stop_orders()
    # What needs the order cannot be done now, and says so in a retryable way...
    retried = create_request(order, (0, 0), request_id=str(uuid.uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateFulfillment(retried, metadata=md)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    info, _, retry_after = details(caught.value)
    assert info["reason"] == "ORDERS_UNAVAILABLE" and retry_after
    # ...while a change that needs nothing from it commits, with its event, in the meantime.
    await stub.DeleteFulfillment(
        pb.DeleteFulfillmentRequest(order_id=order.id, fulfillment_id=first.fulfillment_id),
        metadata=md,
    )

    # The change is announced on the bus while nobody consumes it.
    announced = await events_of(pair.fulfillment.runtime.bus, site, order.id, 2)
    assert statuses(announced)[-1] == (2, DELETED, NOT_FULFILLED)

    await pair.restart_orders()
    await pair.converged(site, order.id, NOT_FULFILLED)
    # The client retries the refused creation with the same request id, as RetryInfo invites,
    # until the orders service answers (its channel may still be backing off).
    created: pb.CreateFulfillmentResponse | None = None
    async with asyncio.timeout(CONVERGE_S):
        while created is None:
            try:
                created = await stub.CreateFulfillment(retried, metadata=md)
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE
                await asyncio.sleep(details(exc)[2] or 0.5)
    assert created.order_with_fulfillments.fulfillments[0].line_items[0].quantity == 3
    done = await pair.converged(site, order.id, FULFILLED)
    assert done.revision > order.revision

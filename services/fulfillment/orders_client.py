"""Reads orders from `ecom.orders.v1.OrdersService` (the `orders` peer) with a service token.

Failures become domain errors, never INTERNAL: an order the orders service does not know is
NOT_FOUND (ORDER_NOT_FOUND); anything else (the service is down, slow, overloaded, not deployed
at that address, or refuses us) is UNAVAILABLE (ORDERS_UNAVAILABLE) with RetryInfo, because the
request itself was fine and succeeds once the orders service answers again.

Deadline: each call gets `ORDERS_TIMEOUT_S`, or what is left of the calling RPC's deadline when
that is shorter (`call_budget`, set by the servicer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

import grpc

from ecom.orders.v1 import orders_service_pb2, orders_service_pb2_grpc
from services.fulfillment import convert
from services.fulfillment.domain import OrderFacts, order_not_found
from services.platform.deadlines import Deadline
from services.platform.errors import NotFound, Unavailable
from services.platform.peers import call_timeout

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("ecom.fulfillment.orders")

PEER = "orders"
ORDERS_UNAVAILABLE = "ORDERS_UNAVAILABLE"
ORDERS_TIMEOUT_S = 5.0
#: GetOrder calls in flight at once for one request (ListFulfillmentsForMultipleOrders, bulk).
MAX_CONCURRENT_READS = 16
_RETRY_AFTER_S = 1.0

# Shared as the default: a Deadline never changes once made.
_NO_DEADLINE = Deadline(None)
_deadline: ContextVar[Deadline] = ContextVar("fulfillment_call_deadline", default=_NO_DEADLINE)


@contextlib.contextmanager
def call_budget(remaining_s: float | None) -> Iterator[None]:
    """Within the block, calls to orders end by the calling RPC's deadline."""
    token = _deadline.set(Deadline(remaining_s))
    try:
        yield
    finally:
        _deadline.reset(token)


def _timeout() -> float:
    return call_timeout(_deadline.get().remaining(), ORDERS_TIMEOUT_S)


class OrdersClient:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def get(self, site: str, order_id: str) -> OrderFacts:
        """The order's lines, status and buyer; NotFound or Unavailable otherwise."""
        stub = orders_service_pb2_grpc.OrdersServiceStub(self._runtime.peer_channel(PEER))
        try:
            response = await stub.GetOrder(
                orders_service_pb2.GetOrderRequest(id=order_id),
                metadata=self._runtime.service_metadata(site),
                timeout=_timeout(),
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, order_id) from None
        return convert.order_facts(response.order)

    async def get_many(
        self, site: str, order_ids: Sequence[str]
    ) -> dict[str, OrderFacts | NotFound | Unavailable]:
        """Each order, or why it could not be read; calls run concurrently (bounded)."""
        gate = asyncio.Semaphore(MAX_CONCURRENT_READS)

        async def read(order_id: str) -> OrderFacts | NotFound | Unavailable:
            async with gate:
                try:
                    return await self.get(site, order_id)
                except (NotFound, Unavailable) as exc:
                    return exc

        results = await asyncio.gather(*(read(order_id) for order_id in order_ids))
        return dict(zip(order_ids, results, strict=True))


def _translate(exc: grpc.aio.AioRpcError, order_id: str) -> NotFound | Unavailable:
    code = exc.code()
    # GetOrder's only argument is the id, which we checked is set: a malformed id names no order.
    if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        return order_not_found(order_id)
    log.warning("GetOrder %s failed: %s %s", order_id, code.name, exc.details())
    return Unavailable(
        ORDERS_UNAVAILABLE,
        "the orders service could not be reached; retry shortly",
        retry_after_s=_RETRY_AFTER_S,
        metadata={"orders_status": code.name},
    )

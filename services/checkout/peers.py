"""Calls to the suite's other services: the cart (GetCart, for CreateCheckout from a cart) and
the orders service (CreateOrder and, for the background finisher, SearchOrders by checkout id),
over `runtime.peer_channel` with the site's service token.

Failures become domain errors or typed outcomes, never INTERNAL: a cart the cart service does
not know is NOT_FOUND (CART_NOT_FOUND); an orders answer is either an order, a definitive
rejection (`OrderRejected`, with the status code and ErrorInfo reason) or a transient failure
(`OrdersUnavailable`), which the saga treats differently.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import grpc

from ecom.cart.v1 import cart_pb2, cart_service_pb2, cart_service_pb2_grpc
from ecom.orders.v1 import order_pb2, orders_service_pb2, orders_service_pb2_grpc
from services.platform.errors import NotFound, Unavailable
from services.platform.peers import TRANSIENT_CODES, call_timeout, error_details

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("ecom.checkout.peers")

PEER_TIMEOUT_S = 5.0


def timeout(remaining_s: float | None) -> float:
    return call_timeout(remaining_s, PEER_TIMEOUT_S)


def error_reason(exc: grpc.aio.AioRpcError) -> str:
    return error_details(exc)[0]


class OrdersUnavailable(Exception):
    """The orders service did not give an answer that settles the step; retry later."""


class OrderRejected(Exception):
    """The orders service refused the order for good."""

    def __init__(self, code: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


class CartClient:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def get(self, site: str, cart_id: str, *, remaining_s: float | None) -> cart_pb2.Cart:
        stub = cart_service_pb2_grpc.CartServiceStub(self._runtime.peer_channel("cart"))
        try:
            response: cart_service_pb2.GetCartResponse = await stub.GetCart(
                cart_service_pb2.GetCartRequest(id=cart_id),
                metadata=self._runtime.service_metadata(site),
                timeout=timeout(remaining_s),
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                raise NotFound("CART_NOT_FOUND", f"no cart {cart_id!r} on this site") from None
            log.warning("GetCart %s failed: %s %s", cart_id, exc.code(), exc.details())
            raise Unavailable(
                "CART_UNAVAILABLE", f"the cart service did not answer: {exc.code().name}"
            ) from None
        return response.cart


class OrdersClient:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _stub(self) -> orders_service_pb2_grpc.OrdersServiceStub:
        return orders_service_pb2_grpc.OrdersServiceStub(self._runtime.peer_channel("orders"))

    async def create(self, site: str, order: order_pb2.Order, *, remaining_s: float | None) -> str:
        """Create the checkout's order (idempotent by `order.checkout_id`); its id."""
        request = orders_service_pb2.CreateOrderRequest(order=order, request_id=order.checkout_id)
        try:
            response: orders_service_pb2.CreateOrderResponse = await self._stub().CreateOrder(
                request,
                metadata=self._runtime.service_metadata(site),
                timeout=timeout(remaining_s),
            )
        except grpc.aio.AioRpcError as exc:
            raise _classify(exc) from None
        except Exception as exc:
            raise OrdersUnavailable(f"CreateOrder could not be sent: {exc}") from exc
        if not response.order.id:
            raise OrdersUnavailable("the orders service answered without an order id")
        return str(response.order.id)

    async def find(self, site: str, checkout_id: str, *, remaining_s: float | None) -> str | None:
        """The id of the order made from `checkout_id`, or None when there is none."""
        request = orders_service_pb2.SearchOrdersRequest(
            filter=orders_service_pb2.OrderFilter(
                checkout_ids=[checkout_id], include_initialized=True
            ),
            page_size=1,
        )
        try:
            response = await self._stub().SearchOrders(
                request,
                metadata=self._runtime.service_metadata(site),
                timeout=timeout(remaining_s),
            )
        except grpc.aio.AioRpcError as exc:
            raise OrdersUnavailable(
                f"SearchOrders failed: {exc.code().name} {exc.details()}"
            ) from None
        return response.orders[0].id if response.orders else None


def _classify(exc: grpc.aio.AioRpcError) -> Exception:
    code = exc.code()
    if code in TRANSIENT_CODES:
        return OrdersUnavailable(f"CreateOrder failed: {code.name} {exc.details() or ''}")
    return OrderRejected(code.name, error_reason(exc), exc.details() or code.name)

"""Something between the checkout service and the real orders service, for fault tests: a gRPC
proxy that forwards OrdersService calls, and can lose CreateOrder answers after the order was
made (as when the checkout process dies right after the call) or refuse orders outright."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

from ecom.orders.v1 import orders_service_pb2 as pb
from ecom.orders.v1 import orders_service_pb2_grpc
from tests.integration.unimplemented import UnimplementedOrdersService


@dataclass
class OrdersFront(UnimplementedOrdersService):
    lose_answers: int = 0
    refuse: bool = False
    created: list[str] = field(default_factory=list)
    _upstream: grpc.aio.Channel | None = None
    _server: grpc.aio.Server | None = None

    async def start(self, upstream: str) -> str:
        self._upstream = grpc.aio.insecure_channel(upstream)
        self._server = grpc.aio.server()
        orders_service_pb2_grpc.add_OrdersServiceServicer_to_server(self, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        return f"127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(0)
        if self._upstream is not None:
            await self._upstream.close()

    def _stub(self) -> orders_service_pb2_grpc.OrdersServiceStub:
        assert self._upstream is not None
        return orders_service_pb2_grpc.OrdersServiceStub(self._upstream)

    @staticmethod
    def _metadata(context: grpc.aio.ServicerContext) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in context.invocation_metadata() or ()]

    async def CreateOrder(
        self, request: pb.CreateOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOrderResponse:
        if self.refuse:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "orders refuses this order")
        response: pb.CreateOrderResponse = await self._stub().CreateOrder(
            request, metadata=self._metadata(context), timeout=context.time_remaining()
        )
        self.created.append(response.order.id)
        if self.lose_answers > 0:
            self.lose_answers -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "connection lost after the call")
        return response

    async def SearchOrders(
        self, request: pb.SearchOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchOrdersResponse:
        response: pb.SearchOrdersResponse = await self._stub().SearchOrders(
            request, metadata=self._metadata(context), timeout=context.time_remaining()
        )
        return response

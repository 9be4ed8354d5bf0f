"""`ecom.fulfillment.v1.OrderFulfillmentsService`: proto <-> domain translation only.

The site is always the caller's (from the verified token); errors are domain exceptions that the
platform interceptor maps to statuses. Each call's remaining deadline bounds the calls it makes to
the orders service.
"""

from __future__ import annotations

import grpc

from ecom.fulfillment.v1 import fulfillment_pb2
from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as pb
from ecom.fulfillment.v1 import order_fulfillments_service_pb2_grpc as pb_grpc
from services.fulfillment import convert
from services.fulfillment.orders_client import call_budget
from services.fulfillment.service import BulkItem, FulfillmentService, OrderFulfillments
from services.platform.identity import current_caller


def _owf(result: OrderFulfillments) -> fulfillment_pb2.OrderWithFulfillments:
    return convert.order_with_fulfillments(result.order_id, result.fulfillments)


class OrderFulfillmentsServicer(pb_grpc.OrderFulfillmentsServiceServicer):
    def __init__(self, service: FulfillmentService) -> None:
        self._service = service

    async def ListFulfillmentsForSingleOrder(
        self, request: pb.ListFulfillmentsForSingleOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFulfillmentsForSingleOrderResponse:
        with call_budget(context.time_remaining()):
            result = await self._service.list_for_order(current_caller(), request.order_id)
        return pb.ListFulfillmentsForSingleOrderResponse(order_with_fulfillments=_owf(result))

    async def ListFulfillmentsForMultipleOrders(
        self,
        request: pb.ListFulfillmentsForMultipleOrdersRequest,
        context: grpc.aio.ServicerContext,
    ) -> pb.ListFulfillmentsForMultipleOrdersResponse:
        with call_budget(context.time_remaining()):
            results = await self._service.list_for_orders(current_caller(), request.order_ids)
        return pb.ListFulfillmentsForMultipleOrdersResponse(
            orders_with_fulfillments=[_owf(result) for result in results]
        )

    async def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateFulfillmentResponse:
        with call_budget(context.time_remaining()):
            return await self._service.create(
                current_caller().site,
                request.order_id,
                convert.draft_from_proto(request.fulfillment),
                request_id=request.request_id,
                request=request,
            )

    async def UpdateFulfillment(
        self, request: pb.UpdateFulfillmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateFulfillmentResponse:
        with call_budget(context.time_remaining()):
            result = await self._service.update(
                current_caller().site,
                request.order_id,
                request.fulfillment.id,
                convert.patch_from_proto(request.fulfillment, request.update_mask.paths),
            )
        return pb.UpdateFulfillmentResponse(order_with_fulfillments=_owf(result))

    async def DeleteFulfillment(
        self, request: pb.DeleteFulfillmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteFulfillmentResponse:
        with call_budget(context.time_remaining()):
            result = await self._service.delete(
                current_caller().site, request.order_id, request.fulfillment_id, request.revision
            )
        return pb.DeleteFulfillmentResponse(order_with_fulfillments=_owf(result))

    async def BulkCreateFulfillments(
        self, request: pb.BulkCreateFulfillmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BulkCreateFulfillmentsResponse:
        items = [
            BulkItem(
                order_id=entry.order_id,
                drafts=[convert.draft_from_proto(f) for f in entry.fulfillments],
            )
            for entry in request.orders_with_fulfillments
        ]
        with call_budget(context.time_remaining()):
            return await self._service.bulk_create(
                current_caller().site, items, request_id=request.request_id, request=request
            )

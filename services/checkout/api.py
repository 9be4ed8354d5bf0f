"""`ecom.checkout.v1.CheckoutService` and `AbandonedCheckoutService`: proto <-> service calls.

The site is always the caller's (from the verified token); errors are domain exceptions that the
platform interceptor maps to statuses. Each call hands its remaining deadline to the service,
which spends it on providers and peers.
"""

from __future__ import annotations

import grpc

from ecom.checkout.v1 import (
    abandoned_checkout_service_pb2,
    abandoned_checkout_service_pb2_grpc,
    checkout_service_pb2,
    checkout_service_pb2_grpc,
)
from services.checkout.abandonment import Abandonment
from services.checkout.saga import Placer
from services.checkout.service import CheckoutService
from services.platform.identity import current_caller

pb = checkout_service_pb2
apb = abandoned_checkout_service_pb2


def _remaining(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else float(remaining)


class CheckoutServicer(checkout_service_pb2_grpc.CheckoutServiceServicer):
    def __init__(self, service: CheckoutService, placer: Placer) -> None:
        self._service = service
        self._placer = placer

    async def CreateCheckout(
        self, request: pb.CreateCheckoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCheckoutResponse:
        checkout = await self._service.create(current_caller(), request, _remaining(context))
        return pb.CreateCheckoutResponse(checkout=checkout)

    async def GetCheckout(
        self, request: pb.GetCheckoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCheckoutResponse:
        return pb.GetCheckoutResponse(
            checkout=await self._service.get(current_caller(), request.id)
        )

    async def UpdateCheckout(
        self, request: pb.UpdateCheckoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateCheckoutResponse:
        checkout = await self._service.update(current_caller(), request, _remaining(context))
        return pb.UpdateCheckoutResponse(checkout=checkout)

    async def AddToCheckout(
        self, request: pb.AddToCheckoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddToCheckoutResponse:
        checkout = await self._service.add(current_caller(), request, _remaining(context))
        return pb.AddToCheckoutResponse(checkout=checkout)

    async def RemoveLineItems(
        self, request: pb.RemoveLineItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveLineItemsResponse:
        checkout = await self._service.remove_lines(current_caller(), request, _remaining(context))
        return pb.RemoveLineItemsResponse(checkout=checkout)

    async def UpdateLineItemsQuantity(
        self, request: pb.UpdateLineItemsQuantityRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateLineItemsQuantityResponse:
        checkout = await self._service.update_quantities(
            current_caller(), request, _remaining(context)
        )
        return pb.UpdateLineItemsQuantityResponse(checkout=checkout)

    async def RemoveCoupon(
        self, request: pb.RemoveCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveCouponResponse:
        checkout = await self._service.remove_coupon(
            current_caller(), request.id, request.revision, _remaining(context)
        )
        return pb.RemoveCouponResponse(checkout=checkout)

    async def RemoveGiftCard(
        self, request: pb.RemoveGiftCardRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveGiftCardResponse:
        checkout = await self._service.remove_gift_card(
            current_caller(), request.id, request.revision, _remaining(context)
        )
        return pb.RemoveGiftCardResponse(checkout=checkout)

    async def RemoveOverrideCheckoutUrl(
        self, request: pb.RemoveOverrideCheckoutUrlRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveOverrideCheckoutUrlResponse:
        checkout = await self._service.remove_override_url(
            current_caller(), request.id, request.revision
        )
        return pb.RemoveOverrideCheckoutUrlResponse(checkout=checkout)

    async def GetCheckoutUrl(
        self, request: pb.GetCheckoutUrlRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCheckoutUrlResponse:
        url = await self._service.checkout_url(current_caller(), request.id)
        return pb.GetCheckoutUrlResponse(checkout_url=url)

    async def MarkCheckoutAsCompleted(
        self, request: pb.MarkCheckoutAsCompletedRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkCheckoutAsCompletedResponse:
        checkout = await self._service.mark_completed(
            current_caller(), request.id, request.revision
        )
        return pb.MarkCheckoutAsCompletedResponse(checkout=checkout)

    async def CreateOrder(
        self, request: pb.CreateOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOrderResponse:
        placed = await self._placer.create_order(current_caller(), request, _remaining(context))
        return pb.CreateOrderResponse(order_id=placed.order_id, checkout=placed.checkout)


class AbandonedCheckoutServicer(
    abandoned_checkout_service_pb2_grpc.AbandonedCheckoutServiceServicer
):
    def __init__(self, abandonment: Abandonment) -> None:
        self._abandonment = abandonment

    async def GetAbandonedCheckout(
        self, request: apb.GetAbandonedCheckoutRequest, context: grpc.aio.ServicerContext
    ) -> apb.GetAbandonedCheckoutResponse:
        record = await self._abandonment.get(current_caller(), request.abandoned_checkout_id)
        return apb.GetAbandonedCheckoutResponse(abandoned_checkout=record)

    async def QueryAbandonedCheckouts(
        self, request: apb.QueryAbandonedCheckoutsRequest, context: grpc.aio.ServicerContext
    ) -> apb.QueryAbandonedCheckoutsResponse:
        records, token = await self._abandonment.query(current_caller(), request)
        return apb.QueryAbandonedCheckoutsResponse(
            abandoned_checkouts=records, next_page_token=token
        )

    async def GetAbandonedCheckoutRecoveryUrl(
        self,
        request: apb.GetAbandonedCheckoutRecoveryUrlRequest,
        context: grpc.aio.ServicerContext,
    ) -> apb.GetAbandonedCheckoutRecoveryUrlResponse:
        url = await self._abandonment.recovery_url(current_caller(), request.abandoned_checkout_id)
        return apb.GetAbandonedCheckoutRecoveryUrlResponse(recovery_url=url)

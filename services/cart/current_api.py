"""`ecom.cart.v1.CurrentCartService`: the caller's own current cart, no id in any request.

The same translation as `api.py`, with the cart resolved from the caller's token through the
session store. Admins and services are refused (PERMISSION_DENIED) by `current_buyer`; the
admin-only inputs of CartService do not exist here.
"""

from __future__ import annotations

from dataclasses import replace

import grpc

from ecom.cart.v1 import current_cart_service_pb2 as pb
from ecom.cart.v1 import current_cart_service_pb2_grpc
from services.cart import domain, inputs
from services.cart.api import checkout_inputs, estimate_options, provider_deadline, update_op
from services.cart.service import Carts, current_buyer, idempotency
from services.platform import inputs as shared
from services.platform.errors import Violations
from services.platform.identity import current_caller
from services.platform.sites import SiteDirectory

SERVICE = "ecom.cart.v1.CurrentCartService"
#: UpdateCurrentCart's mask paths: CartService's without the admin-only ones.
BUYER_PATHS = inputs.UPDATABLE_PATHS - inputs.STAFF_PATHS


class CurrentCartServicer(current_cart_service_pb2_grpc.CurrentCartServiceServicer):
    def __init__(self, carts: Carts, sites: SiteDirectory) -> None:
        self._carts = carts
        self._sites = sites

    async def GetCurrentCart(
        self, request: pb.GetCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCurrentCartResponse:
        cart = await self._carts.get_current(current_caller(), provider_deadline(context))
        return pb.GetCurrentCartResponse(cart=cart)

    async def UpdateCurrentCart(
        self, request: pb.UpdateCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateCurrentCartResponse:
        caller = current_caller()
        current_buyer(caller)
        v = Violations()
        patch = inputs.patch(
            v,
            caller,
            self._sites.for_site(caller.site),
            request.cart,
            request.update_mask,
            allowed=BUYER_PATHS,
        )
        items = inputs.new_lines(v, request.line_items, "line_items", required=False)
        coupon = inputs.coupon_code(v, "coupon_code", request.coupon_code)
        if patch is None and not items and not coupon:
            v.add("update_mask", "nothing to update: no field, line or coupon")
        v.raise_if_any()
        cart = await self._carts.update(
            caller,
            await self._carts.current_id(caller),
            update_op(patch, items, coupon, None),
            revision=request.cart.revision,
            items=items,
            idem=idempotency(f"{SERVICE}/UpdateCurrentCart", caller, request.request_id, request),
            deadline=provider_deadline(context),
            missing=domain.no_current_cart,
        )
        return pb.UpdateCurrentCartResponse(cart=cart)

    async def AddToCurrentCart(
        self, request: pb.AddToCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddToCurrentCartResponse:
        caller = current_caller()
        current_buyer(caller)
        v = Violations()
        items = inputs.new_lines(v, request.line_items, "line_items", required=True)
        v.raise_if_any()
        cart = await self._carts.add_to_current(
            caller,
            items,
            revision=request.revision,
            idem=idempotency(f"{SERVICE}/AddToCurrentCart", caller, request.request_id, request),
            deadline=provider_deadline(context),
        )
        return pb.AddToCurrentCartResponse(cart=cart)

    async def RemoveLineItemsFromCurrentCart(
        self, request: pb.RemoveLineItemsFromCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveLineItemsFromCurrentCartResponse:
        caller = current_caller()
        current_buyer(caller)
        v = Violations()
        ids = shared.check_line_ids(v, "line_item_ids", request.line_item_ids)
        v.raise_if_any()
        cart = await self._carts.update(
            caller,
            await self._carts.current_id(caller),
            lambda c: domain.remove_lines(c, ids),
            revision=request.revision,
            deadline=provider_deadline(context),
            missing=domain.no_current_cart,
        )
        return pb.RemoveLineItemsFromCurrentCartResponse(cart=cart)

    async def UpdateCurrentCartLineItemQuantity(
        self,
        request: pb.UpdateCurrentCartLineItemQuantityRequest,
        context: grpc.aio.ServicerContext,
    ) -> pb.UpdateCurrentCartLineItemQuantityResponse:
        caller = current_caller()
        current_buyer(caller)
        v = Violations()
        quantities = shared.check_quantity_updates(v, "line_items", request.line_items)
        v.raise_if_any()
        cart = await self._carts.update(
            caller,
            await self._carts.current_id(caller),
            lambda c: domain.set_quantities(c, quantities),
            revision=request.revision,
            deadline=provider_deadline(context),
            missing=domain.no_current_cart,
        )
        return pb.UpdateCurrentCartLineItemQuantityResponse(cart=cart)

    async def EstimateCurrentCartTotals(
        self, request: pb.EstimateCurrentCartTotalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.EstimateCurrentCartTotalsResponse:
        caller = current_caller()
        current_buyer(caller)
        v = Violations()
        options = estimate_options(v, request)
        v.raise_if_any()
        estimate = await self._carts.estimate_current(caller, options, provider_deadline(context))
        # The two responses have the same fields under the same numbers (the proto says so):
        # re-reading the bytes is the whole translation.
        return pb.EstimateCurrentCartTotalsResponse.FromString(estimate.SerializeToString())

    async def CreateCheckoutFromCurrentCart(
        self, request: pb.CreateCheckoutFromCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCheckoutFromCurrentCartResponse:
        caller = current_caller()
        current_buyer(caller)
        shipping = request.shipping_address if request.HasField("shipping_address") else None
        billing = request.billing_address if request.HasField("billing_address") else None
        selected = (
            request.selected_shipping_option
            if request.HasField("selected_shipping_option")
            else None
        )
        v = Violations()
        checkout_inputs(v, caller, request.channel_type, request.email, shipping, billing, selected)
        v.raise_if_any()
        checkout_id = await self._carts.create_checkout(
            caller,
            await self._carts.current_id(caller),
            channel_type=request.channel_type,
            shipping_address=shipping,
            billing_address=billing,
            selected_shipping_option=selected,
            email=request.email,
            idem=idempotency(
                f"{SERVICE}/CreateCheckoutFromCurrentCart", caller, request.request_id, request
            ),
            deadline=provider_deadline(context),
            missing=domain.no_current_cart,
        )
        return pb.CreateCheckoutFromCurrentCartResponse(checkout_id=checkout_id)

    async def RemoveCouponFromCurrentCart(
        self, request: pb.RemoveCouponFromCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveCouponFromCurrentCartResponse:
        caller = current_caller()
        cart = await self._carts.update(
            caller,
            await self._carts.current_id(caller),
            lambda c: replace(c, coupon_code=""),
            revision=request.revision,
            deadline=provider_deadline(context),
            missing=domain.no_current_cart,
        )
        return pb.RemoveCouponFromCurrentCartResponse(cart=cart)

    async def DeleteCurrentCart(
        self, request: pb.DeleteCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteCurrentCartResponse:
        await self._carts.delete_current(current_caller(), revision=request.revision)
        return pb.DeleteCurrentCartResponse()

    async def MergeCurrentCart(
        self, request: pb.MergeCurrentCartRequest, context: grpc.aio.ServicerContext
    ) -> pb.MergeCurrentCartResponse:
        return await self._carts.merge(
            current_caller(), request.visitor_token, provider_deadline(context)
        )

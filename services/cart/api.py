"""`ecom.cart.v1.CartService`: proto <-> domain translation only.

Requests are checked here (field violations, admin-only fields) and turned into domain values
and rules (`Op`s) that `Carts` applies; the site is always the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import grpc

from ecom.cart.v1 import cart_service_pb2, cart_service_pb2_grpc, current_cart_service_pb2
from ecom.common.v1 import address_pb2, buyer_pb2, channel_pb2, shipping_pb2
from services.cart import domain, inputs
from services.cart.domain import Buyer, BuyerKind, Cart, MerchantDiscount, NewLine
from services.cart.inputs import Patch
from services.cart.service import Carts, Op, idempotency
from services.cart.totals import EstimateOptions
from services.platform import inputs as shared
from services.platform.deadlines import Deadline
from services.platform.errors import InvalidArgument, PermissionDenied, Violations
from services.platform.identity import Caller, current_caller
from services.platform.sites import SiteDirectory

SERVICE = "ecom.cart.v1.CartService"
#: The provider calls of a request end this much before it (a fifth of its time, at most
#: 250 ms), so that a provider that uses all its time still leaves the cart time to answer
#: with what it has.
PROVIDER_RESERVE_FRACTION = 0.2
PROVIDER_MAX_RESERVE_S = 0.25


def provider_deadline(context: grpc.aio.ServicerContext) -> Deadline:
    """The time the provider calls of this request may take, shared by every round of them."""
    return Deadline(context.time_remaining()).reserving(
        PROVIDER_RESERVE_FRACTION, at_most_s=PROVIDER_MAX_RESERVE_S
    )


def require_id(value: str, field: str = "id") -> str:
    if not value:
        raise InvalidArgument.of(field, "required")
    if len(value) > inputs.MAX_ID:
        raise InvalidArgument.of(field, f"at most {inputs.MAX_ID} characters")
    return value


def estimate_options(
    violations: Violations,
    request: cart_service_pb2.EstimateTotalsRequest
    | current_cart_service_pb2.EstimateCurrentCartTotalsRequest,
) -> EstimateOptions:
    """The options of EstimateTotals or EstimateCurrentCartTotals (the same fields)."""
    selected = (
        request.selected_shipping_option if request.HasField("selected_shipping_option") else None
    )
    choice = (
        inputs.shipping_choice(violations, "selected_shipping_option", selected)
        if selected
        else None
    )
    shipping_address = request.shipping_address if request.HasField("shipping_address") else None
    billing_address = request.billing_address if request.HasField("billing_address") else None
    if shipping_address is not None:
        shared.check_address(violations, "shipping_address", shipping_address)
    if billing_address is not None:
        shared.check_address(violations, "billing_address", billing_address)
    return EstimateOptions(
        selected=choice,
        shipping_address=shipping_address,
        billing_address=billing_address,
        calculate_tax=request.calculate_tax if request.HasField("calculate_tax") else True,
        calculate_shipping=(
            request.calculate_shipping if request.HasField("calculate_shipping") else True
        ),
    )


def checkout_inputs(
    violations: Violations,
    caller: Caller,
    channel_type: int,
    email: str,
    shipping_address: address_pb2.Address | None,
    billing_address: address_pb2.Address | None,
    selected: shipping_pb2.SelectedShippingOption | None,
) -> None:
    if channel_type == channel_pb2.CHANNEL_TYPE_UNSPECIFIED:
        violations.add("channel_type", "required")
    elif channel_type == channel_pb2.CHANNEL_TYPE_BACKOFFICE_MERCHANT and not caller.is_staff:
        raise PermissionDenied(
            "CHANNEL_NOT_ALLOWED",
            "visitors and members may not use CHANNEL_TYPE_BACKOFFICE_MERCHANT",
        )
    inputs.check_email(violations, "email", email)
    if shipping_address is not None:
        shared.check_address(violations, "shipping_address", shipping_address)
    if billing_address is not None:
        shared.check_address(violations, "billing_address", billing_address)
    if selected is not None:
        inputs.shipping_choice(violations, "selected_shipping_option", selected)


def update_op(
    patch: Patch | None,
    items: Sequence[NewLine],
    coupon: str,
    merchant: Sequence[MerchantDiscount] | None,
) -> Op:
    """UpdateCart's order: masked fields, added lines, coupon, merchant discounts."""

    def op(cart: Cart) -> Cart:
        before = cart
        if patch is not None:
            cart = patch(cart)
        if items:
            cart = domain.add_lines(cart, items)
        if coupon:
            cart = replace(cart, coupon_code=coupon)
        if merchant is not None:
            problems = domain.check_merchant_discount_lines(before, merchant, "merchant_discounts")
            if problems:
                violations = Violations()
                for path, text in problems:
                    violations.add(path, text)
                violations.raise_if_any()
            cart = replace(cart, merchant_discounts=tuple(merchant))
        return cart

    return op


class CartServicer(cart_service_pb2_grpc.CartServiceServicer):
    def __init__(self, carts: Carts, sites: SiteDirectory) -> None:
        self._carts = carts
        self._sites = sites

    async def CreateCart(
        self, request: cart_service_pb2.CreateCartRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.CreateCartResponse:
        caller = current_caller()
        info = request.cart_info
        if not caller.is_staff:
            if request.merchant_discounts:
                raise shared.admin_only("merchant_discounts")
            if info.override_checkout_url:
                raise shared.admin_only("override_checkout_url")
            if info.buyer_info.contact_id:
                raise shared.admin_only("buyer_info.contact_id")
        settings = self._sites.for_site(caller.site)
        v = Violations()
        items = inputs.new_lines(v, request.line_items, "line_items", required=False)
        shared.check_note(v, "cart_info.buyer_note", info.buyer_note)
        inputs.check_email(v, "cart_info.buyer_info.email", info.buyer_info.email)
        shared.check_language(v, "cart_info.buyer_language", info.buyer_language)
        shared.check_conversion_currency(
            v, "cart_info.conversion_currency", info.conversion_currency, settings
        )
        shared.check_url(v, "cart_info.override_checkout_url", info.override_checkout_url)
        shared.check_address_with_contact(v, "cart_info.contact_info", info.contact_info)
        choice = inputs.shipping_choice(
            v, "cart_info.selected_shipping_option", info.selected_shipping_option
        )
        coupon = inputs.coupon_code(v, "coupon_code", request.coupon_code)
        merchant = inputs.merchant_discounts(
            v, "merchant_discounts", request.merchant_discounts, allow_line_ids=False
        )
        buyer = self._buyer(v, caller, info.buyer_info)
        v.raise_if_any()

        def template(cart: Cart) -> Cart:
            return replace(
                cart,
                buyer_note=info.buyer_note,
                email=info.buyer_info.email,
                contact_id=info.buyer_info.contact_id,
                buyer_language=info.buyer_language,
                conversion_currency=info.conversion_currency,
                contact_info=inputs.contact_info_bytes(info.contact_info),
                selected_shipping=choice,
                override_checkout_url=info.override_checkout_url,
                coupon_code=coupon,
                merchant_discounts=tuple(merchant),
            )

        return await self._carts.create(
            caller,
            template=template,
            buyer=buyer,
            items=items,
            idem=idempotency(f"{SERVICE}/CreateCart", caller, request.request_id, request),
            deadline=provider_deadline(context),
        )

    @staticmethod
    def _buyer(v: Violations, caller: Caller, given: buyer_pb2.BuyerInfo) -> Buyer:
        """Buyers are who their token says; staff may create a cart on a buyer's behalf."""
        which = given.WhichOneof("id")
        if not caller.is_staff or which is None:
            return Buyer.of(caller)
        value = getattr(given, which)
        if not value or len(value) > 200:
            v.add(f"cart_info.buyer_info.{which}", "must be 1..200 characters")
        kind = {"visitor_id": BuyerKind.VISITOR, "member_id": BuyerKind.MEMBER}.get(
            which, BuyerKind.USER
        )
        return Buyer(kind, value)

    async def GetCart(
        self, request: cart_service_pb2.GetCartRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.GetCartResponse:
        cart = await self._carts.get(
            current_caller(), require_id(request.id), provider_deadline(context)
        )
        return cart_service_pb2.GetCartResponse(cart=cart)

    async def UpdateCart(
        self, request: cart_service_pb2.UpdateCartRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.UpdateCartResponse:
        caller = current_caller()
        cart_id = require_id(request.cart.id, "cart.id")
        if not caller.is_staff and (request.merchant_discounts or request.clear_merchant_discounts):
            raise shared.admin_only("merchant discounts")
        v = Violations()
        patch = inputs.patch(
            v, caller, self._sites.for_site(caller.site), request.cart, request.update_mask
        )
        items = inputs.new_lines(v, request.line_items, "line_items", required=False)
        coupon = inputs.coupon_code(v, "coupon_code", request.coupon_code)
        merchant: list[MerchantDiscount] | None = None
        if request.merchant_discounts:
            merchant = inputs.merchant_discounts(
                v, "merchant_discounts", request.merchant_discounts, allow_line_ids=True
            )
            if request.clear_merchant_discounts:
                v.add("clear_merchant_discounts", "cannot be combined with merchant_discounts")
        elif request.clear_merchant_discounts:
            merchant = []
        if patch is None and not items and not coupon and merchant is None:
            v.add("update_mask", "nothing to update: no field, line, coupon or merchant discount")
        v.raise_if_any()
        cart = await self._carts.update(
            caller,
            cart_id,
            update_op(patch, items, coupon, merchant),
            revision=request.cart.revision,
            items=items,
            idem=idempotency(f"{SERVICE}/UpdateCart", caller, request.request_id, request),
            deadline=provider_deadline(context),
        )
        return cart_service_pb2.UpdateCartResponse(cart=cart)

    async def AddToCart(
        self, request: cart_service_pb2.AddToCartRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.AddToCartResponse:
        caller = current_caller()
        cart_id = require_id(request.id)
        v = Violations()
        items = inputs.new_lines(v, request.line_items, "line_items", required=True)
        v.raise_if_any()
        cart = await self._carts.update(
            caller,
            cart_id,
            lambda c: domain.add_lines(c, items),
            revision=request.revision,
            items=items,
            idem=idempotency(f"{SERVICE}/AddToCart", caller, request.request_id, request),
            deadline=provider_deadline(context),
        )
        return cart_service_pb2.AddToCartResponse(cart=cart)

    async def RemoveLineItems(
        self, request: cart_service_pb2.RemoveLineItemsRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.RemoveLineItemsResponse:
        cart_id = require_id(request.id)
        v = Violations()
        ids = shared.check_line_ids(v, "line_item_ids", request.line_item_ids)
        v.raise_if_any()
        cart = await self._carts.update(
            current_caller(),
            cart_id,
            lambda c: domain.remove_lines(c, ids),
            revision=request.revision,
            deadline=provider_deadline(context),
        )
        return cart_service_pb2.RemoveLineItemsResponse(cart=cart)

    async def UpdateLineItemsQuantity(
        self,
        request: cart_service_pb2.UpdateLineItemsQuantityRequest,
        context: grpc.aio.ServicerContext,
    ) -> cart_service_pb2.UpdateLineItemsQuantityResponse:
        cart_id = require_id(request.id)
        v = Violations()
        quantities = shared.check_quantity_updates(v, "line_items", request.line_items)
        v.raise_if_any()
        cart = await self._carts.update(
            current_caller(),
            cart_id,
            lambda c: domain.set_quantities(c, quantities),
            revision=request.revision,
            deadline=provider_deadline(context),
        )
        return cart_service_pb2.UpdateLineItemsQuantityResponse(cart=cart)

    async def EstimateTotals(
        self, request: cart_service_pb2.EstimateTotalsRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.EstimateTotalsResponse:
        cart_id = require_id(request.id)
        v = Violations()
        options = estimate_options(v, request)
        v.raise_if_any()
        return await self._carts.estimate(
            current_caller(), cart_id, options, provider_deadline(context)
        )

    async def RemoveCoupon(
        self, request: cart_service_pb2.RemoveCouponRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.RemoveCouponResponse:
        cart = await self._carts.update(
            current_caller(),
            require_id(request.id),
            lambda c: replace(c, coupon_code=""),
            revision=request.revision,
            deadline=provider_deadline(context),
        )
        return cart_service_pb2.RemoveCouponResponse(cart=cart)

    async def CreateCheckout(
        self, request: cart_service_pb2.CreateCheckoutRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.CreateCheckoutResponse:
        caller = current_caller()
        cart_id = require_id(request.id)
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
            cart_id,
            channel_type=request.channel_type,
            shipping_address=shipping,
            billing_address=billing,
            selected_shipping_option=selected,
            email=request.email,
            idem=idempotency(f"{SERVICE}/CreateCheckout", caller, request.request_id, request),
            deadline=provider_deadline(context),
        )
        return cart_service_pb2.CreateCheckoutResponse(checkout_id=checkout_id)

    async def DeleteCart(
        self, request: cart_service_pb2.DeleteCartRequest, context: grpc.aio.ServicerContext
    ) -> cart_service_pb2.DeleteCartResponse:
        await self._carts.delete(
            current_caller(), require_id(request.id), revision=request.revision
        )
        return cart_service_pb2.DeleteCartResponse()

    async def GetCartByCheckoutId(
        self,
        request: cart_service_pb2.GetCartByCheckoutIdRequest,
        context: grpc.aio.ServicerContext,
    ) -> cart_service_pb2.GetCartByCheckoutIdResponse:
        cart = await self._carts.get_by_checkout(
            current_caller(), require_id(request.id), provider_deadline(context)
        )
        return cart_service_pb2.GetCartByCheckoutIdResponse(cart=cart)

"""The cart's call to the checkout service: `ecom.checkout.v1.CheckoutService/CreateCheckout`
with `cart_id`, over `runtime.peer_channel("checkout")` with the site's service token.

The checkout service reads the cart itself, creates its checkout or, when the cart already has
one, updates it (one checkout per cart however often this is called). Its errors are passed on
with their reason; a checkout service that is not deployed, not reachable or too slow is
UNAVAILABLE (reason CHECKOUT_SERVICE_UNAVAILABLE), never a made-up checkout id.
"""

from __future__ import annotations

import grpc

from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2, checkout_service_pb2_grpc
from ecom.common.v1 import address_pb2, buyer_pb2, channel_pb2, shipping_pb2
from services.platform import errors
from services.platform.peers import error_details
from services.platform.runtime import Runtime

CHECKOUT_SERVICE_UNAVAILABLE = "CHECKOUT_SERVICE_UNAVAILABLE"
#: The most a CreateCheckout may take when the caller set no deadline.
DEFAULT_TIMEOUT_S = 10.0

_UNREACHABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
}


class CheckoutGateway:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def create_from_cart(
        self,
        site: str,
        cart_id: str,
        *,
        channel_type: int,
        shipping_address: address_pb2.Address | None,
        billing_address: address_pb2.Address | None,
        selected_shipping_option: shipping_pb2.SelectedShippingOption | None,
        email: str,
        request_id: str,
        remaining_s: float | None,
    ) -> str:
        """The id of the checkout created or updated for the cart."""
        info = checkout_pb2.Checkout()
        if shipping_address is not None:
            info.shipping_info.shipping_destination.address.CopyFrom(shipping_address)
        if billing_address is not None:
            info.billing_info.address.CopyFrom(billing_address)
        if selected_shipping_option is not None:
            selected = info.shipping_info.selected_carrier_service_option
            selected.carrier_id = selected_shipping_option.carrier_id
            selected.code = selected_shipping_option.code
        if email:
            info.buyer_info.CopyFrom(buyer_pb2.BuyerInfo(email=email))
        request = checkout_service_pb2.CreateCheckoutRequest(
            checkout_info=info,
            cart_id=cart_id,
            channel_type=channel_pb2.ChannelType.ValueType(channel_type),
            request_id=request_id,
        )
        try:
            channel = self._runtime.peer_channel("checkout")
        except RuntimeError as exc:
            raise _unavailable(str(exc)) from None
        stub = checkout_service_pb2_grpc.CheckoutServiceStub(channel)
        timeout = DEFAULT_TIMEOUT_S if remaining_s is None else min(remaining_s, DEFAULT_TIMEOUT_S)
        try:
            response = await stub.CreateCheckout(
                request, metadata=self._runtime.service_metadata(site), timeout=timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc) from None
        checkout_id: str = response.checkout.id
        if not checkout_id:
            raise _unavailable("the checkout service answered without a checkout id")
        return checkout_id


def _unavailable(detail: str) -> errors.Unavailable:
    return errors.Unavailable(
        CHECKOUT_SERVICE_UNAVAILABLE,
        f"the checkout service is not deployed or not reachable: {detail}",
    )


def _translated(exc: grpc.aio.AioRpcError) -> errors.DomainError:
    """The checkout's answer as the cart's error: its reason and metadata are kept."""
    code = exc.code()
    detail = exc.details() or code.name
    if code in _UNREACHABLE:
        return _unavailable(f"{code.name} {detail}")
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return errors.DeadlineExceeded(
            "CHECKOUT_SERVICE_TIMEOUT", "the checkout service did not answer in time"
        )
    reason, metadata, violations = error_details(exc)
    kinds: dict[grpc.StatusCode, type[errors.ReasonedError]] = {
        grpc.StatusCode.NOT_FOUND: errors.NotFound,
        grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
        grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
        grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
        grpc.StatusCode.ABORTED: errors.Conflict,
    }
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidArgument(
            violations or [errors.FieldViolation("", detail)],
            reason=reason or None,
            message=detail if reason else None,
            metadata=metadata if reason else None,
        )
    kind = kinds.get(code)
    if kind is None:
        return _unavailable(f"{code.name} {detail}")
    return kind(reason or code.name, detail, metadata=metadata, violations=violations)

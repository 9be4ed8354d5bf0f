"""`ecom.discounts.v1.CouponsService`: proto <-> domain translation only."""

from __future__ import annotations

import grpc

from ecom.discounts.v1 import coupon_pb2
from ecom.discounts.v1 import coupons_service_pb2 as pb
from ecom.discounts.v1 import coupons_service_pb2_grpc as pb_grpc
from services.discounts.domain.updates import (
    COUPON_DISCOUNT_PATHS,
    COUPON_OUTPUT_ONLY,
    COUPON_PATHS,
    mask_problems,
)
from services.discounts.proto_coupons import coupon_to_proto, definition_from_proto, set_fields
from services.discounts.proto_queries import coupon_query
from services.discounts.service_coupons import PREFIX, CouponService
from services.platform.db import utcnow
from services.platform.errors import InvalidArgument, Violations
from services.platform.identity import current_caller

#: Coupon fields an update may read, as named by proto (message fields and scalars).
_FIELDS = (
    "code",
    "name",
    "scope",
    "money_off_amount",
    "percent_off_rate",
    "free_shipping",
    "fixed_price_amount",
    "minimum_subtotal",
    "start_time",
    "expiration_time",
    "usage_limit",
    "limited_to_one_item",
    "active",
)


def _site() -> str:
    return current_caller().site


def _only(coupon: coupon_pb2.Coupon, paths: frozenset[str]) -> coupon_pb2.Coupon:
    """A copy of `coupon` keeping only the fields the mask names (the others are not read)."""
    keep = set(paths)
    if keep & COUPON_DISCOUNT_PATHS:  # naming one discount field replaces the discount
        keep |= COUPON_DISCOUNT_PATHS
    partial = coupon_pb2.Coupon()
    partial.CopyFrom(coupon)
    for name in _FIELDS:
        if name not in keep:
            partial.ClearField(name)  # type: ignore[arg-type]
    return partial


class CouponsServicer(pb_grpc.CouponsServiceServicer):
    def __init__(self, coupons: CouponService) -> None:
        self._coupons = coupons

    async def CreateCoupon(
        self, request: pb.CreateCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCouponResponse:
        if not request.HasField("coupon"):
            raise InvalidArgument.of("coupon", "required")
        problems = Violations()
        definition = definition_from_proto(problems, PREFIX, request.coupon, creating=True)
        return await self._coupons.create(
            _site(), definition, problems, request_id=request.request_id, request=request
        )

    async def GetCoupon(
        self, request: pb.GetCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCouponResponse:
        if not request.coupon_id:
            raise InvalidArgument.of("coupon_id", "required")
        coupon = await self._coupons.get(_site(), request.coupon_id)
        return pb.GetCouponResponse(coupon=coupon_to_proto(coupon, utcnow()))

    async def QueryCoupons(
        self, request: pb.QueryCouponsRequest, context: grpc.aio.ServicerContext
    ) -> pb.QueryCouponsResponse:
        coupons, token, now = await self._coupons.query(_site(), coupon_query(request))
        return pb.QueryCouponsResponse(
            coupons=[coupon_to_proto(coupon, now) for coupon in coupons], next_page_token=token
        )

    async def UpdateCoupon(
        self, request: pb.UpdateCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateCouponResponse:
        coupon = request.coupon
        problems = Violations()
        if not coupon.id:
            problems.add(f"{PREFIX}id", "required")
        if not coupon.revision:
            problems.add(f"{PREFIX}revision", "required: the revision read")
        paths = frozenset(request.update_mask.paths) or set_fields(coupon)
        if not paths:
            problems.add("update_mask", "nothing to update: name fields or set them")
        for violation in mask_problems(paths, COUPON_PATHS, COUPON_OUTPUT_ONLY):
            problems.add(violation.field, violation.description)
        problems.raise_if_any()
        incoming = definition_from_proto(problems, PREFIX, _only(coupon, paths), creating=False)
        updated = await self._coupons.update(
            _site(), coupon.id, incoming, paths, coupon.revision, problems
        )
        return pb.UpdateCouponResponse(coupon=coupon_to_proto(updated, utcnow()))

    async def DeleteCoupon(
        self, request: pb.DeleteCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteCouponResponse:
        if not request.coupon_id:
            raise InvalidArgument.of("coupon_id", "required")
        await self._coupons.delete(_site(), request.coupon_id)
        return pb.DeleteCouponResponse()

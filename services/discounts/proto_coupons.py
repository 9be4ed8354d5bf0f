"""`ecom.discounts.v1.Coupon` <-> the domain's `CouponDefinition` / `Coupon`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from google.protobuf.message import Message

from ecom.discounts.v1 import coupon_pb2
from services.discounts.domain.model import Coupon, CouponDefinition, CouponKind
from services.discounts.domain.status import coupon_expired
from services.discounts.proto_common import (
    decimal_text,
    optional_decimal,
    optional_time,
    parse_decimal,
    scope_from_proto,
    scope_to_proto,
    timestamp,
)
from services.platform.errors import Violations

_KINDS = {
    "money_off_amount": CouponKind.MONEY_OFF_AMOUNT,
    "percent_off_rate": CouponKind.PERCENT_OFF_RATE,
    "free_shipping": CouponKind.FREE_SHIPPING,
    "fixed_price_amount": CouponKind.FIXED_PRICE_AMOUNT,
}
_MEMBERS = {kind: member for member, kind in _KINDS.items()}
_OUTPUT_ONLY = ("id", "number_of_usages", "expired", "revision", "created_date", "updated_date")
_MESSAGE_FIELDS = frozenset({"created_date", "updated_date"})


def definition_from_proto(
    problems: Violations, prefix: str, coupon: coupon_pb2.Coupon, *, creating: bool
) -> CouponDefinition:
    """Every definition field of `coupon`. `active` unset: true on create, false on update."""
    if creating:
        message: Message = coupon
        for name in _OUTPUT_ONLY:
            if message.HasField(name) if name in _MESSAGE_FIELDS else getattr(coupon, name):
                problems.add(f"{prefix}{name}", "output only: leave it empty")
    member = coupon.WhichOneof("discount")
    kind = _KINDS.get(member) if member else None
    value = Decimal(0)
    if kind in (
        CouponKind.MONEY_OFF_AMOUNT,
        CouponKind.PERCENT_OFF_RATE,
        CouponKind.FIXED_PRICE_AMOUNT,
    ):
        assert member is not None
        # The placeholder of an amount that does not parse (reported) passes the amount checks.
        value = parse_decimal(
            problems, f"{prefix}{member}", getattr(coupon, member), placeholder=Decimal(1)
        )
    scope = (
        scope_from_proto(problems, f"{prefix}scope", coupon.scope)
        if coupon.HasField("scope")
        else None
    )
    return CouponDefinition(
        code=coupon.code,
        name=coupon.name,
        scope=scope,
        kind=kind,
        value=value,
        minimum_subtotal=optional_decimal(
            problems, f"{prefix}minimum_subtotal", coupon.minimum_subtotal
        ),
        start=optional_time(coupon, "start_time"),
        expiration=optional_time(coupon, "expiration_time"),
        usage_limit=coupon.usage_limit if coupon.HasField("usage_limit") else None,
        limited_to_one_item=coupon.limited_to_one_item,
        active=coupon.active if coupon.HasField("active") else creating,
        free_shipping_false=kind is CouponKind.FREE_SHIPPING and not coupon.free_shipping,
    )


def set_fields(coupon: coupon_pb2.Coupon) -> frozenset[str]:
    """The update paths of the fields set in `coupon` (an empty mask means these, AIP-134)."""
    paths = set()
    for name in ("code", "name", "minimum_subtotal", "limited_to_one_item"):
        if getattr(coupon, name):
            paths.add(name)
    for name in ("scope", "start_time", "expiration_time", "usage_limit", "active"):
        if coupon.HasField(name):  # type: ignore[arg-type]
            paths.add(name)
    member = coupon.WhichOneof("discount")
    if member:
        paths.add(member)
    return frozenset(paths)


def definition_to_proto(definition: CouponDefinition) -> coupon_pb2.Coupon:
    """The merchant-defined fields only (what the store keeps as the coupon's document)."""
    message = coupon_pb2.Coupon(
        code=definition.code,
        name=definition.name,
        limited_to_one_item=definition.limited_to_one_item,
        active=definition.active,
    )
    if definition.scope is not None:
        message.scope.CopyFrom(scope_to_proto(definition.scope))
    if definition.kind is CouponKind.FREE_SHIPPING:
        message.free_shipping = True
    elif definition.kind is not None:
        setattr(message, _MEMBERS[definition.kind], decimal_text(definition.value))
    if definition.minimum_subtotal is not None:
        message.minimum_subtotal = decimal_text(definition.minimum_subtotal)
    if definition.start is not None:
        message.start_time.CopyFrom(timestamp(definition.start))
    if definition.expiration is not None:
        message.expiration_time.CopyFrom(timestamp(definition.expiration))
    if definition.usage_limit is not None:
        message.usage_limit = definition.usage_limit
    return message


def coupon_to_proto(coupon: Coupon, now: datetime) -> coupon_pb2.Coupon:
    """The full resource, with `expired` derived at `now`."""
    message = definition_to_proto(coupon.definition)
    message.id = coupon.id
    message.number_of_usages = coupon.number_of_usages
    message.expired = coupon_expired(coupon.definition, now)
    message.revision = coupon.revision
    message.created_date.CopyFrom(timestamp(coupon.created))
    message.updated_date.CopyFrom(timestamp(coupon.updated))
    return message


def definition_from_document(document: bytes) -> CouponDefinition:
    """A stored document back into a definition (it was valid when stored)."""
    problems = Violations()
    definition = definition_from_proto(
        problems, "", coupon_pb2.Coupon.FromString(document), creating=False
    )
    problems.raise_if_any()
    return definition

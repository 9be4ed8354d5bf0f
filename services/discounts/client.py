"""The suite's one client of `ecom.discounts.v1.DiscountRulesService/GetAppliedDiscounts`, for the
cart and the checkout (and anything else that prices lines).

`DiscountsClient.evaluate` sends the priced lines over `runtime.peer_channel("discounts")` with
the site's service token and a deadline, and returns a `DiscountsResult` in the pricing engine's
terms (`LineDiscount` per line and discount, `ShippingDiscount` for free shipping) plus what the
callers show: the coupon (id, code, name), the rules that took something off (id -> name) and
the service's `coupon_calculation_error` / `discounts_calculation_error`.

Discounts never make a cart or checkout call fail (DESIGN.md 4 and 7): a discounts service that
is down, not configured, too slow for the deadline or answers something we do not trust
(every answer is checked before it is used) becomes a `discounts_error` with code
`DISCOUNTS_UNAVAILABLE`, no discount is applied, and a coupon code given at the same time gets a
`coupon_error` with the same code (it could not be checked, so it is not applied).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import grpc

from ecom.common.v1 import buyer_pb2, calculation_pb2
from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from ecom.discounts.v1 import discount_rules_service_pb2_grpc as pb_grpc
from services.pricing import (
    DiscountSource,
    DiscountSourceKind,
    InvalidAmountError,
    LineDiscount,
    ShippingDiscount,
    parse_amount,
    quantize,
    to_wire,
)

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("ecom.discounts.client")

#: The calculation error code of every failure to get discounts from the discounts service.
DISCOUNTS_UNAVAILABLE = "DISCOUNTS_UNAVAILABLE"
#: The most a GetAppliedDiscounts may take by default, whatever budget the caller has left
#: (DESIGN.md 7's provider default); a caller may allow more (`DiscountsClient(timeout_s=...)`).
DEFAULT_TIMEOUT_S = 2.0
#: Less time than this left: the call is not even sent (it could not come back in time).
MIN_TIMEOUT_S = 0.02


@dataclass(frozen=True)
class DiscountLine:
    """What discounts depend on: one priced line. `price` is one unit's price after catalog
    sales and before any discount; `root_item_id` the item a variant belongs to, if any."""

    id: str
    app_id: str
    catalog_item_id: str
    quantity: int
    price: Decimal
    root_item_id: str = ""


@dataclass(frozen=True)
class AppliedCoupon:
    """A coupon the discounts service applied; its id is the `DiscountSource` id of its parts."""

    id: str
    code: str
    name: str


@dataclass(frozen=True)
class DiscountsResult:
    line_discounts: tuple[LineDiscount, ...] = ()
    shipping_discounts: tuple[ShippingDiscount, ...] = ()
    #: The coupon code asked about, as given ("" for none). With `coupon` None, `coupon_error`
    #: says why it was not applied.
    coupon_code: str = ""
    #: The coupon when it applies (also when the rules left it nothing to take); None when no
    #: code was given or it cannot be used (then `coupon_error` says why).
    coupon: AppliedCoupon | None = None
    #: Rule id -> name, for every rule that took something off, in the order they applied.
    rules: Mapping[str, str] = field(default_factory=dict)
    coupon_error: calculation_pb2.CalculationError | None = None
    discounts_error: calculation_pb2.CalculationError | None = None


@dataclass(frozen=True)
class DiscountsQuery:
    """One evaluation: the lines (in the caller's order, which breaks ties), the coupon code
    ("" for none), the currency of every amount, and what the service may use besides."""

    lines: Sequence[DiscountLine]
    coupon_code: str
    currency: str
    buyer: buyer_pb2.BuyerInfo | None = None
    #: The selected shipping option's price before discounts; None when not known yet.
    shipping_amount: Decimal | None = None
    #: The subtotal before discounts; None: the service sums the lines.
    subtotal: Decimal | None = None
    #: The checkout whose held usage reservation counts as available ("" for none).
    reservation_id: str = ""


class Discounts(Protocol):
    async def evaluate(
        self, site: str, query: DiscountsQuery, *, remaining_s: float | None
    ) -> DiscountsResult: ...


def unavailable(query: DiscountsQuery, why: str) -> DiscountsResult:
    """No discounts, and why: the discounts error and, with a coupon code, the coupon error."""
    coupon_error = None
    if query.coupon_code:
        coupon_error = calculation_pb2.CalculationError(
            code=DISCOUNTS_UNAVAILABLE,
            description=f"coupon {query.coupon_code!r} could not be checked: {why}",
        )
    return DiscountsResult(
        coupon_code=query.coupon_code,
        coupon_error=coupon_error,
        discounts_error=calculation_pb2.CalculationError(
            code=DISCOUNTS_UNAVAILABLE, description=f"no discounts were applied: {why}"
        ),
    )


def discountable(lines: Sequence[DiscountLine]) -> list[DiscountLine]:
    """The lines the service can evaluate: discounts match catalog references, so a line without
    one (a checkout's custom line) is never discounted and is not sent."""
    return [line for line in lines if line.app_id and line.catalog_item_id]


def request_for(query: DiscountsQuery) -> pb.GetAppliedDiscountsRequest:
    currency = query.currency
    request = pb.GetAppliedDiscountsRequest(currency=currency, reservation_id=query.reservation_id)
    for line in discountable(query.lines):
        item = request.line_items.add(
            id=line.id,
            quantity=line.quantity,
            price=to_wire(line.price, currency, keep_precision=True),
            root_catalog_item_id=line.root_item_id,
        )
        item.catalog_reference.app_id = line.app_id
        item.catalog_reference.catalog_item_id = line.catalog_item_id
    if query.coupon_code:
        request.coupon_code = query.coupon_code
    if query.buyer is not None:
        request.buyer_info.CopyFrom(query.buyer)
    if query.shipping_amount is not None:
        request.shipping_amount = to_wire(query.shipping_amount, currency, keep_precision=True)
    if query.subtotal is not None:
        request.subtotal = to_wire(query.subtotal, currency, keep_precision=True)
    return request


def timeout_for(remaining_s: float | None, cap_s: float = DEFAULT_TIMEOUT_S) -> float:
    return cap_s if remaining_s is None else min(remaining_s, cap_s)


class DiscountsClient:
    """`Discounts` over gRPC to the `discounts` peer of the runtime; one call takes at most
    `timeout_s` (or the caller's remaining budget when that is shorter)."""

    def __init__(self, runtime: Runtime, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._runtime = runtime
        self._timeout_s = timeout_s

    async def evaluate(
        self, site: str, query: DiscountsQuery, *, remaining_s: float | None
    ) -> DiscountsResult:
        request = request_for(query)
        if not request.line_items and not query.coupon_code:
            return DiscountsResult()  # nothing could be discounted: no call needed
        timeout = timeout_for(remaining_s, self._timeout_s)
        if timeout < MIN_TIMEOUT_S:
            return unavailable(query, "no time was left to ask the discounts service")
        try:
            stub = pb_grpc.DiscountRulesServiceStub(self._runtime.peer_channel("discounts"))
            response: pb.GetAppliedDiscountsResponse = await stub.GetAppliedDiscounts(
                request, metadata=self._runtime.service_metadata(site), timeout=timeout
            )
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            log.warning("GetAppliedDiscounts failed: %s %s", code.name, exc.details())
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                why = f"the discounts service did not answer within {timeout:.2f} s"
            else:
                why = f"the discounts service failed ({code.name}: {exc.details()})"
            return unavailable(query, why)
        except RuntimeError as exc:  # no address for the peer: not deployed with this process
            return unavailable(query, f"the discounts service is not reachable ({exc})")
        try:
            return translate(request, response, query.coupon_code)
        except AnswerRejected as exc:
            log.warning("rejected a GetAppliedDiscounts answer: %s", exc)
            return unavailable(query, f"the discounts service's answer was rejected ({exc})")


# ---------------------------------------------------------------------------- the answer


class AnswerRejected(Exception):
    """An answer of the discounts service that cannot be used as it is."""


def _amount(text: str, what: str) -> Decimal:
    try:
        return parse_amount(text, non_negative=True)
    except InvalidAmountError as exc:
        raise AnswerRejected(f"{what}: {exc}") from None


def _error(
    response: pb.GetAppliedDiscountsResponse, name: str
) -> calculation_pb2.CalculationError | None:
    if not response.HasField(name):  # type: ignore[arg-type]
        return None
    copy = calculation_pb2.CalculationError()
    copy.CopyFrom(getattr(response, name))
    return copy


def _same_code(given: str, applied: str) -> bool:
    """The service matches codes case-insensitively after trimming surrounding whitespace."""
    return given.strip().casefold() == applied.strip().casefold()


def translate(
    request: pb.GetAppliedDiscountsRequest,
    response: pb.GetAppliedDiscountsResponse,
    coupon_code: str,
) -> DiscountsResult:
    """`response` in the engine's terms, once it is known to fit `request`: every line answered
    once, amounts that are decimal strings, not negative and never more than the line, parts
    that add up to their line and name a rule or the coupon the answer lists. Anything else
    raises `AnswerRejected` (the caller then applies no discount rather than a wrong one)."""
    currency = request.currency
    if response.currency != currency:
        raise AnswerRejected(f"its amounts are in {response.currency!r}, not {currency}")
    rules: dict[str, str] = {}
    coupon: AppliedCoupon | None = None
    for applied in response.applied_discounts:
        kind = applied.WhichOneof("discount_source_type")
        if kind == "discount_rule" and applied.discount_rule.id:
            rules[applied.discount_rule.id] = applied.discount_rule.name.original
        elif kind == "coupon" and applied.coupon.id:
            given = applied.coupon
            if not coupon_code or not _same_code(coupon_code, given.code):
                raise AnswerRejected(f"it applies coupon {given.code!r}, which was not asked for")
            coupon = AppliedCoupon(given.id, given.code, given.name)
        else:
            raise AnswerRejected(f"an applied discount without an id ({kind or 'no source'})")
    coupon_error = _error(response, "coupon_calculation_error")
    if coupon is not None and coupon_error is not None:
        raise AnswerRejected("the coupon is both applied and refused")
    if coupon_code and coupon is None and coupon_error is None:
        raise AnswerRejected("the coupon is neither applied nor refused")
    shipping: list[ShippingDiscount] = []
    if response.free_shipping:
        if coupon is None:
            raise AnswerRejected("free shipping without a coupon")
        # Free shipping is all of the shipping price, whatever the option costs by then.
        shipping.append(ShippingDiscount(DiscountSource(DiscountSourceKind.COUPON, coupon.id)))

    asked = {item.id: item for item in request.line_items}
    answered: set[str] = set()
    parts: list[LineDiscount] = []
    total = Decimal(0)
    for entry in response.line_item_discounts:
        line_id = entry.line_item_id
        line = asked.get(line_id)
        if line is None:
            raise AnswerRejected(f"it discounts line {line_id!r}, which was not asked about")
        if line_id in answered:
            raise AnswerRejected(f"it answers line {line_id!r} twice")
        answered.add(line_id)
        line_total = _amount(entry.total_discount.amount, f"line {line_id!r} total_discount")
        exact = parse_amount(line.price) * line.quantity
        # Amounts are rounded to the minor unit, so a free "0.125" line may lose "0.13".
        if line_total > max(exact, quantize(exact, currency)):
            raise AnswerRejected(
                f"it takes {line_total} off line {line_id!r}, which costs {exact} in all"
            )
        added = Decimal(0)
        for part in entry.discounts:
            amount = _amount(part.amount.amount, f"a discount of line {line_id!r}")
            added += amount
            if not amount:
                continue
            source = part.WhichOneof("source")
            if source == "discount_rule_id" and part.discount_rule_id in rules:
                by = DiscountSource(DiscountSourceKind.DISCOUNT_RULE, part.discount_rule_id)
            elif source == "coupon_id" and coupon is not None and part.coupon_id == coupon.id:
                by = DiscountSource(DiscountSourceKind.COUPON, coupon.id)
            else:
                named = getattr(part, source) if source else "nothing"
                raise AnswerRejected(
                    f"a discount of line {line_id!r} comes from {named!r}, "
                    "which is not among the applied discounts"
                )
            parts.append(LineDiscount(by, line_id, amount))
        if added != line_total:
            raise AnswerRejected(
                f"the discounts of line {line_id!r} add up to {added}, not {line_total}"
            )
        total += line_total
    missing = [line_id for line_id in asked if line_id not in answered]
    if missing:
        raise AnswerRejected(f"it does not answer line {missing[0]!r}")
    if response.HasField("total_discount"):
        stated = _amount(response.total_discount.amount, "total_discount")
        if stated != total:
            raise AnswerRejected(f"its total_discount {stated} is not the lines' {total}")
    return DiscountsResult(
        line_discounts=tuple(parts),
        shipping_discounts=tuple(shipping),
        coupon_code=coupon_code,
        coupon=coupon,
        rules=rules,
        coupon_error=coupon_error,
        discounts_error=_error(response, "discounts_calculation_error"),
    )

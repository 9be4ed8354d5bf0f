"""GetAppliedDiscounts' request and response <-> the evaluation's domain types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from google.protobuf import struct_pb2

from ecom.common.v1 import calculation_pb2, line_item_pb2, money_pb2, pricing_pb2
from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from ecom.spi.discount_triggers.v1 import discount_triggers_provider_service_pb2 as spi
from services.discounts.domain.evaluation import Request
from services.discounts.domain.lines import Line
from services.discounts.domain.results import (
    AppliedType,
    CouponResult,
    Evaluation,
    Outcome,
    SourceKind,
)
from services.discounts.proto_common import set_price, struct_to_dict
from services.platform.errors import Violations
from services.platform.inputs import check_amount, check_line_count, check_quantity
from services.pricing.errors import InvalidAmountError, UnknownCurrencyError
from services.pricing.money import minor_units, parse_amount, to_wire

MAX_CUSTOM_SCOPE_DATA = 10


def _line(problems: Violations, path: str, item: pb.DiscountLineItem) -> Line:
    reference = item.catalog_reference
    if not item.id:
        problems.add(f"{path}.id", "required")
    if not reference.app_id:
        problems.add(f"{path}.catalog_reference.app_id", "required")
    if not reference.catalog_item_id:
        problems.add(f"{path}.catalog_reference.catalog_item_id", "required")
    check_quantity(problems, f"{path}.quantity", item.quantity)
    unit_price = Decimal(0)
    try:
        unit_price = parse_amount(item.price, non_negative=True)
    except InvalidAmountError as exc:
        problems.add(f"{path}.price", f"required, a non-negative decimal string: {exc}")
    if len(item.custom_scope_data) > MAX_CUSTOM_SCOPE_DATA:
        problems.add(f"{path}.custom_scope_data", f"at most {MAX_CUSTOM_SCOPE_DATA} entries")
    return Line(
        id=item.id,
        app_id=reference.app_id,
        catalog_item_id=reference.catalog_item_id,
        quantity=item.quantity,
        price=unit_price,
        root_catalog_item_id=item.root_catalog_item_id,
        custom_data=tuple(
            (data.app_id, struct_to_dict(data.params)) for data in item.custom_scope_data
        ),
    )


def request_from_proto(request: pb.GetAppliedDiscountsRequest, now: datetime) -> Request:
    """The evaluation's input (stacking is filled in from the site's settings later)."""
    problems = Violations()
    check_line_count(problems, "line_items", len(request.line_items), required=False)
    lines = [_line(problems, f"line_items[{i}]", item) for i, item in enumerate(request.line_items)]
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.id and line.id in seen:
            problems.add(f"line_items[{i}].id", f"duplicate line id {line.id!r}")
        seen.add(line.id)
    try:
        minor_units(request.currency)
    except UnknownCurrencyError as exc:
        problems.add("currency", f"required, an ISO 4217 code: {exc}")
    subtotal = check_amount(problems, "subtotal", request.subtotal)
    shipping = check_amount(problems, "shipping_amount", request.shipping_amount)
    problems.raise_if_any()
    return Request(
        lines=tuple(lines),
        currency=request.currency,
        now=now,
        subtotal=subtotal,
        shipping_amount=shipping,
    )


def spi_template(request: pb.GetAppliedDiscountsRequest) -> spi.GetEligibleTriggersRequest:
    """The cart as discount-triggers providers see it (triggers are added per provider)."""
    template = spi.GetEligibleTriggersRequest(currency=request.currency)
    subtotal = Decimal(0)
    for item in request.line_items:
        line = line_item_pb2.LineItem(
            id=item.id,
            quantity=item.quantity,
            price=money_pb2.Price(amount=item.price, converted_amount=item.price),
            root_catalog_item_id=item.root_catalog_item_id,
        )
        line.catalog_reference.CopyFrom(item.catalog_reference)
        template.line_items.append(line)
        subtotal += parse_amount(item.price) * item.quantity
    template.subtotal = request.subtotal or to_wire(subtotal, request.currency)
    if request.HasField("buyer_info"):
        template.buyer_info.CopyFrom(request.buyer_info)
    return template


def _coupon_discount(
    applied: pricing_pb2.AppliedDiscount, result: CouponResult, currency: str
) -> None:
    coupon = result.coupon
    entry = applied.coupon
    entry.id = coupon.id
    entry.code = coupon.code
    entry.name = coupon.definition.name
    set_price(entry.amount, result.amount, currency)
    applied.discount_type = pricing_pb2.DiscountType.ValueType(int(result.applied_type))
    applied.line_item_ids.extend(result.line_ids)


def response_to_proto(
    evaluation: Evaluation,
    currency: str,
    discounts_error: calculation_pb2.CalculationError | None,
) -> pb.GetAppliedDiscountsResponse:
    # Sub-messages are added in place (`add`) and prices copied from kept ones (`set_price`):
    # building each message and then appending it copies it once more.
    response = pb.GetAppliedDiscountsResponse(currency=currency)
    set_price(response.total_discount, evaluation.total_discount, currency)
    applied_discounts = response.applied_discounts
    evaluated = response.evaluated_discount_rules
    for result in evaluation.rules:
        rule = result.rule
        if result.outcome is Outcome.APPLIED:
            applied = applied_discounts.add(
                discount_type=pricing_pb2.DISCOUNT_TYPE_SPECIFIC_ITEMS,
                line_item_ids=result.line_ids,
            )
            applied.discount_rule.id = rule.id
            applied.discount_rule.name.original = rule.name
            set_price(applied.discount_rule.amount, result.amount, currency)
        entry = evaluated.add(
            discount_rule_id=rule.id,
            name=rule.name,
            outcome=pb.DiscountRuleEvaluation.Outcome.ValueType(int(result.outcome)),
        )
        set_price(entry.amount, result.amount, currency)
    if evaluation.coupon is not None:
        _coupon_discount(applied_discounts.add(), evaluation.coupon, currency)
        if evaluation.coupon.applied_type is AppliedType.SHIPPING:
            response.free_shipping = True
            shipping = evaluation.coupon.shipping_discount or Decimal(0)
            set_price(response.shipping_discount, shipping, currency)
    line_discounts = response.line_item_discounts
    for line in evaluation.lines:
        line_entry = line_discounts.add(line_item_id=line.line_id)
        set_price(line_entry.total_discount, line.total, currency)
        parts = line_entry.discounts
        for part in line.parts:
            if part.kind is SourceKind.RULE:
                message = parts.add(discount_rule_id=part.source_id, discounted_quantity=part.units)
            else:
                message = parts.add(coupon_id=part.source_id, discounted_quantity=part.units)
            set_price(message.amount, part.amount, currency)
    error = evaluation.coupon_error
    if error is not None:
        data = struct_pb2.Struct()
        if error.minimum_subtotal is not None:
            data.update({"minimum_subtotal": to_wire(error.minimum_subtotal, currency)})
        response.coupon_calculation_error.CopyFrom(
            calculation_pb2.CalculationError(
                code=error.problem.code, description=error.description, data=data
            )
        )
    if discounts_error is not None:
        response.discounts_calculation_error.CopyFrom(discounts_error)
    return response

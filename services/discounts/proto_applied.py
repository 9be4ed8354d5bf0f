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
from services.discounts.proto_common import price, struct_to_dict
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


def _coupon_discount(result: CouponResult, currency: str) -> pricing_pb2.AppliedDiscount:
    coupon = result.coupon
    return pricing_pb2.AppliedDiscount(
        coupon=pricing_pb2.AppliedDiscount.Coupon(
            id=coupon.id,
            code=coupon.code,
            name=coupon.definition.name,
            amount=price(result.amount, currency),
        ),
        discount_type=pricing_pb2.DiscountType.ValueType(int(result.applied_type)),
        line_item_ids=list(result.line_ids),
    )


def response_to_proto(
    evaluation: Evaluation,
    currency: str,
    discounts_error: calculation_pb2.CalculationError | None,
) -> pb.GetAppliedDiscountsResponse:
    response = pb.GetAppliedDiscountsResponse(
        currency=currency, total_discount=price(evaluation.total_discount, currency)
    )
    for result in evaluation.rules:
        if result.outcome is Outcome.APPLIED:
            response.applied_discounts.append(
                pricing_pb2.AppliedDiscount(
                    discount_rule=pricing_pb2.AppliedDiscount.DiscountRule(
                        id=result.rule.id,
                        name=money_pb2.LocalizedText(original=result.rule.name),
                        amount=price(result.amount, currency),
                    ),
                    discount_type=pricing_pb2.DISCOUNT_TYPE_SPECIFIC_ITEMS,
                    line_item_ids=list(result.line_ids),
                )
            )
        response.evaluated_discount_rules.append(
            pb.DiscountRuleEvaluation(
                discount_rule_id=result.rule.id,
                name=result.rule.name,
                outcome=pb.DiscountRuleEvaluation.Outcome.ValueType(int(result.outcome)),
                amount=price(result.amount, currency),
            )
        )
    if evaluation.coupon is not None:
        response.applied_discounts.append(_coupon_discount(evaluation.coupon, currency))
        if evaluation.coupon.applied_type is AppliedType.SHIPPING:
            response.free_shipping = True
            shipping = evaluation.coupon.shipping_discount or Decimal(0)
            response.shipping_discount.CopyFrom(price(shipping, currency))
    for line in evaluation.lines:
        entry = pb.LineItemDiscount(
            line_item_id=line.line_id, total_discount=price(line.total, currency)
        )
        for part in line.parts:
            message = pb.LineItemDiscountPart(
                amount=price(part.amount, currency), discounted_quantity=part.units
            )
            if part.kind is SourceKind.RULE:
                message.discount_rule_id = part.source_id
            else:
                message.coupon_id = part.source_id
            entry.discounts.append(message)
        response.line_item_discounts.append(entry)
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

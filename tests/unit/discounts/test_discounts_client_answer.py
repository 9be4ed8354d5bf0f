"""The discounts client's side of GetAppliedDiscounts without the network: the request it builds
from priced lines, and how it checks and translates answers (`translate`): a sound answer becomes
exact engine discounts; an answer that does not fit the request is rejected, never half-used."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecom.common.v1 import calculation_pb2, money_pb2, pricing_pb2
from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from services.discounts.client import (
    DISCOUNTS_UNAVAILABLE,
    AnswerRejected,
    AppliedCoupon,
    DiscountLine,
    DiscountsQuery,
    request_for,
    timeout_for,
    translate,
    unavailable,
)
from services.pricing import DiscountSource, DiscountSourceKind, LineDiscount, ShippingDiscount

RULE = DiscountSource(DiscountSourceKind.DISCOUNT_RULE, "r1")
COUPON = DiscountSource(DiscountSourceKind.COUPON, "c1")


def query(coupon_code: str = "", **fields: object) -> DiscountsQuery:
    lines = [
        DiscountLine("a", "ecom.catalog", "shirt", 2, Decimal("20.00")),
        DiscountLine("b", "ecom.catalog", "pin", 1, Decimal("0.125"), root_item_id="pins"),
    ]
    return DiscountsQuery(lines=lines, coupon_code=coupon_code, currency="USD", **fields)  # type: ignore[arg-type]


def price(amount: str) -> money_pb2.Price:
    return money_pb2.Price(amount=amount)


def rule_entry(rule_id: str = "r1", name: str = "10% off") -> pricing_pb2.AppliedDiscount:
    entry = pricing_pb2.AppliedDiscount(
        discount_rule=pricing_pb2.AppliedDiscount.DiscountRule(id=rule_id, amount=price("4.00"))
    )
    entry.discount_rule.name.original = name
    return entry


def coupon_entry(code: str = "SAVE", coupon_id: str = "c1") -> pricing_pb2.AppliedDiscount:
    return pricing_pb2.AppliedDiscount(
        coupon=pricing_pb2.AppliedDiscount.Coupon(
            id=coupon_id, code=code, name="Save", amount=price("1.00")
        )
    )


def line(line_id: str, total: str, *parts: pb.LineItemDiscountPart) -> pb.LineItemDiscount:
    return pb.LineItemDiscount(
        line_item_id=line_id, total_discount=price(total), discounts=list(parts)
    )


def by_rule(amount: str, rule_id: str = "r1") -> pb.LineItemDiscountPart:
    return pb.LineItemDiscountPart(discount_rule_id=rule_id, amount=price(amount))


def by_coupon(amount: str, coupon_id: str = "c1") -> pb.LineItemDiscountPart:
    return pb.LineItemDiscountPart(coupon_id=coupon_id, amount=price(amount))


def sound(coupon: bool = False) -> pb.GetAppliedDiscountsResponse:
    """Rule r1 takes 4.00 off line a; the coupon (when asked) 1.00 more off line a."""
    applied = [rule_entry()] + ([coupon_entry()] if coupon else [])
    parts = [by_rule("4.00")] + ([by_coupon("1.00")] if coupon else [])
    total = "5.00" if coupon else "4.00"
    return pb.GetAppliedDiscountsResponse(
        currency="USD",
        applied_discounts=applied,
        line_item_discounts=[line("a", total, *parts), line("b", "0")],
        total_discount=price(total),
    )


def test_the_request_carries_exact_prices_and_only_catalog_lines() -> None:
    custom = DiscountLine("c", "", "", 1, Decimal("5"))
    asked = query(
        "SAVE", shipping_amount=Decimal("7.5"), subtotal=Decimal("40.125"), reservation_id="k1"
    )
    request = request_for(DiscountsQuery(**{**asked.__dict__, "lines": [*asked.lines, custom]}))
    assert [(i.id, i.price, i.quantity) for i in request.line_items] == [
        ("a", "20.00", 2),
        ("b", "0.125", 1),
    ]
    assert request.line_items[1].root_catalog_item_id == "pins"
    assert request.line_items[0].catalog_reference.catalog_item_id == "shirt"
    assert (request.coupon_code, request.shipping_amount, request.subtotal) == (
        "SAVE",
        "7.50",
        "40.125",
    )
    assert (request.currency, request.reservation_id) == ("USD", "k1")
    assert not request_for(query()).HasField("coupon_code")


def test_a_sound_answer_becomes_engine_discounts() -> None:
    request = request_for(query("save "))
    result = translate(request, sound(coupon=True), "save ")
    assert result.line_discounts == (
        LineDiscount(RULE, "a", Decimal("4.00")),
        LineDiscount(COUPON, "a", Decimal("1.00")),
    )
    assert result.coupon == AppliedCoupon("c1", "SAVE", "Save")
    assert dict(result.rules) == {"r1": "10% off"}
    assert result.coupon_code == "save "
    assert result.coupon_error is None and result.discounts_error is None
    assert result.shipping_discounts == ()


def test_free_shipping_takes_all_of_the_shipping() -> None:
    response = pb.GetAppliedDiscountsResponse(
        currency="USD",
        applied_discounts=[coupon_entry()],
        line_item_discounts=[line("a", "0"), line("b", "0")],
        total_discount=price("0"),
        free_shipping=True,
        shipping_discount=price("0"),
    )
    result = translate(request_for(query("SAVE")), response, "SAVE")
    assert result.shipping_discounts == (ShippingDiscount(COUPON, None),)
    assert result.line_discounts == ()


def test_refusals_and_trigger_problems_are_passed_on() -> None:
    response = pb.GetAppliedDiscountsResponse(
        currency="USD",
        line_item_discounts=[line("a", "0"), line("b", "0")],
        coupon_calculation_error=calculation_pb2.CalculationError(code="COUPON_EXPIRED"),
        discounts_calculation_error=calculation_pb2.CalculationError(
            code="PROVIDER_TIMEOUT", app_id="t"
        ),
    )
    result = translate(request_for(query("OLD")), response, "OLD")
    assert result.coupon is None and result.line_discounts == ()
    assert result.coupon_error is not None and result.coupon_error.code == "COUPON_EXPIRED"
    assert result.discounts_error is not None and result.discounts_error.app_id == "t"


def _broken(change: str) -> pb.GetAppliedDiscountsResponse:
    response = sound(coupon=True)
    a = response.line_item_discounts[0]
    if change == "currency":
        response.currency = "EUR"
    elif change == "unknown line":
        response.line_item_discounts.append(line("zzz", "0"))
    elif change == "line twice":
        response.line_item_discounts.append(line("b", "0"))
    elif change == "line missing":
        del response.line_item_discounts[1]
    elif change == "negative":
        a.discounts[0].amount.amount = "-4.00"
        a.total_discount.amount = "-3.00"
    elif change == "not a number":
        a.total_discount.amount = "lots"
    elif change == "more than the line":
        a.discounts[0].amount.amount = "40.00"
        a.total_discount.amount = "41.00"
        response.total_discount.amount = "41.00"
    elif change == "more than a sub-cent line":
        response.line_item_discounts[1].CopyFrom(line("b", "0.14", by_rule("0.14")))
        response.total_discount.amount = "5.14"
    elif change == "parts do not add up":
        a.total_discount.amount = "4.50"
        response.total_discount.amount = "4.50"
    elif change == "total does not add up":
        response.total_discount.amount = "9.00"
    elif change == "unknown rule":
        a.discounts[0].discount_rule_id = "r-unknown"
    elif change == "unknown coupon":
        a.discounts[1].coupon_id = "c-other"
    elif change == "coupon not asked for":
        response.applied_discounts[1].coupon.code = "OTHER"
    elif change == "applied and refused":
        response.coupon_calculation_error.code = "COUPON_EXPIRED"
    elif change == "neither applied nor refused":
        del response.applied_discounts[1]
        del a.discounts[1]
        a.total_discount.amount = "4.00"
        response.total_discount.amount = "4.00"
    elif change == "free shipping without a coupon":
        del response.applied_discounts[1]
        response.coupon_calculation_error.code = "COUPON_EXPIRED"
        del a.discounts[1]
        a.total_discount.amount = "4.00"
        response.total_discount.amount = "4.00"
        response.free_shipping = True
    elif change == "entry without id":
        response.applied_discounts.append(pricing_pb2.AppliedDiscount())
    return response


BROKEN = [
    "currency",
    "unknown line",
    "line twice",
    "line missing",
    "negative",
    "not a number",
    "more than the line",
    "more than a sub-cent line",
    "parts do not add up",
    "total does not add up",
    "unknown rule",
    "unknown coupon",
    "coupon not asked for",
    "applied and refused",
    "neither applied nor refused",
    "free shipping without a coupon",
    "entry without id",
]


@pytest.mark.parametrize("change", BROKEN)
def test_an_answer_that_does_not_fit_is_rejected(change: str) -> None:
    request = request_for(query("SAVE"))
    assert translate(request, sound(coupon=True), "SAVE").line_discounts  # the base is sound
    with pytest.raises(AnswerRejected):
        translate(request, _broken(change), "SAVE")


def test_a_sub_cent_line_may_lose_its_rounded_price() -> None:
    # 0.125 rounds half-even to 0.12: taking all of it is not more than the line.
    response = sound()
    response.line_item_discounts[1].CopyFrom(line("b", "0.12", by_rule("0.12")))
    response.total_discount.amount = "4.12"
    result = translate(request_for(query()), response, "")
    assert LineDiscount(RULE, "b", Decimal("0.12")) in result.line_discounts


def test_unavailable_names_the_coupon_too() -> None:
    result = unavailable(query("SAVE"), "down")
    assert result.discounts_error is not None and result.coupon_error is not None
    assert result.discounts_error.code == result.coupon_error.code == DISCOUNTS_UNAVAILABLE
    assert "'SAVE'" in result.coupon_error.description
    assert result.coupon is None and result.line_discounts == ()
    assert unavailable(query(), "down").coupon_error is None


def test_the_deadline_never_exceeds_the_cap() -> None:
    assert timeout_for(None) == 2.0
    assert timeout_for(30.0) == 2.0
    assert timeout_for(0.5) == 0.5
    assert timeout_for(None, 5.0) == timeout_for(9.0, 5.0) == 5.0

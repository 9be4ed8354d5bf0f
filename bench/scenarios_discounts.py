"""Discounts scenarios (issue 7): GetAppliedDiscounts on its own, and the cart's EstimateTotals
over the same 50 live rules and coupon, which calls it on every estimate.

`bench.scenarios` imports this module last, which adds these scenarios to its `SCENARIOS`.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message

from bench.backend import Server
from bench.scenarios import (
    _CART_LINES,
    SCENARIOS,
    Prepared,
    Scenario,
    _auth,
    _cart_shoppers,
    _rotating,
    _unary,
)
from services.platform.identity import Role, TokenService

_DISCOUNT_RULES = 50
_DISCOUNT_LINES = 20
_COUPON_CODE = "BENCH10"
#: The catalog items of discounts.applied's lines (the bench's own, not in any catalog).
_APPLIED_ITEMS = "bench-disc-"
#: The catalog items of the cart scenarios' carts (bench.scenarios._cart_shoppers).
_CART_ITEMS = "bench-cart-"


def _discount_rule(i: int, item_prefix: str = _APPLIED_ITEMS) -> Any:
    """One of 50 live rules of every kind the evaluation handles: percentage, fixed amount and
    fixed price on items, buy-X-get-Y, lowest priced item; subtotal, quantity and AND/OR
    triggers; a fifth of them with a usage limit (so held uses are counted too). Item scopes
    name `{item_prefix}{n}` for n in 0..19."""
    from ecom.discounts.v1 import discount_rule_pb2 as d

    def scope(item: int | None = None) -> d.Scope:
        found = d.Scope(type=d.Scope.SCOPE_TYPE_CATALOG_ITEM)
        found.catalog_item.catalog_app_id = "ecom.catalog"
        if item is not None:
            found.catalog_item.catalog_item_id = f"{item_prefix}{item % _DISCOUNT_LINES}"
        return found

    kind = i % 5
    discount = d.Discount(target_type=d.Discount.TARGET_TYPE_SPECIFIC_ITEMS)
    discount.specific_items_info.scopes.extend([scope(i), scope(i + 7)])
    if kind == 0:
        discount.discount_type = d.Discount.DISCOUNT_TYPE_PERCENTAGE
        discount.percentage = "5"
    elif kind == 1:
        discount.discount_type = d.Discount.DISCOUNT_TYPE_FIXED_AMOUNT
        discount.fixed_amount = "0.50"
    elif kind == 2:
        discount.discount_type = d.Discount.DISCOUNT_TYPE_FIXED_PRICE
        discount.fixed_price = "9.00"
    else:
        discount = d.Discount(
            target_type=d.Discount.TARGET_TYPE_BUY_X_GET_Y,
            discount_type=d.Discount.DISCOUNT_TYPE_PERCENTAGE,
            percentage="50",
        )
        discount.buy_x_get_y_info.customer_buys.quantity = 2
        discount.buy_x_get_y_info.customer_buys.scopes.append(scope())
        discount.buy_x_get_y_info.customer_gets.quantity = 1
        discount.buy_x_get_y_info.customer_gets.scopes.append(scope(i))
    rule = d.DiscountRule(name=f"Bench rule {i}")
    rule.discounts.values.append(discount)
    subtotal = d.DiscountTrigger(subtotal_range=d.DiscountTrigger.SubtotalRange(min="50"))
    many = d.DiscountTrigger(item_quantity_range=d.DiscountTrigger.ItemQuantityRange(min=3))
    if i % 3 == 0:
        rule.trigger.all_of.triggers.extend([subtotal, many])
    elif i % 3 == 1:
        rule.trigger.any_of.triggers.extend([subtotal, many])
    else:
        rule.trigger.CopyFrom(many)
    if kind == 4:
        rule.settings.applies_to = d.DiscountRuleSettings.APPLIES_TO_LOWEST_PRICED_ITEM
    if i % 5 == 0:
        rule.settings.usage_limit = 1_000_000
    return rule


async def _discount_setup(
    channel: grpc.aio.Channel, tokens: TokenService, item_prefix: str
) -> None:
    """The 50 rules (scoping `item_prefix` items) and the coupon (10% off) of site `bench`."""
    from ecom.discounts.v1 import (
        coupon_pb2,
        coupons_service_pb2,
        coupons_service_pb2_grpc,
        discount_rules_service_pb2_grpc,
    )
    from ecom.discounts.v1 import discount_rules_service_pb2 as rules

    admin = _auth(tokens)
    stub = discount_rules_service_pb2_grpc.DiscountRulesServiceStub(channel)
    for i in range(_DISCOUNT_RULES):
        await stub.CreateDiscountRule(
            rules.CreateDiscountRuleRequest(discount_rule=_discount_rule(i, item_prefix)),
            metadata=admin,
        )
    await coupons_service_pb2_grpc.CouponsServiceStub(channel).CreateCoupon(
        coupons_service_pb2.CreateCouponRequest(
            coupon=coupon_pb2.Coupon(code=_COUPON_CODE, name="Bench 10%", percent_off_rate="10")
        ),
        metadata=admin,
    )


async def _discounts_applied(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    """GetAppliedDiscounts as a cart asks it: 20 lines, 50 live rules, a coupon."""
    from ecom.discounts.v1 import discount_rules_service_pb2 as rules
    from ecom.discounts.v1 import discount_rules_service_pb2_grpc

    await _discount_setup(channel, tokens, _APPLIED_ITEMS)
    request = rules.GetAppliedDiscountsRequest(currency="USD", coupon_code=_COUPON_CODE.lower())
    for i in range(_DISCOUNT_LINES):
        item = request.line_items.add(id=f"line-{i}", quantity=1 + i % 3, price=f"{4 + i}.99")
        item.catalog_reference.app_id = "ecom.catalog"
        item.catalog_reference.catalog_item_id = f"{_APPLIED_ITEMS}{i}"
    prepared = await _unary(
        channel,
        "/ecom.discounts.v1.DiscountRulesService/GetAppliedDiscounts",
        request,
        rules.GetAppliedDiscountsResponse,
        _auth(tokens, Role.SERVICE),
    )
    stub = discount_rules_service_pb2_grpc.DiscountRulesServiceStub(channel)
    probe = await stub.GetAppliedDiscounts(request, metadata=_auth(tokens, Role.SERVICE))
    applied = sum(1 for e in probe.evaluated_discount_rules if e.outcome == 1)
    if len(probe.evaluated_discount_rules) != _DISCOUNT_RULES or not applied:
        raise RuntimeError("discounts.applied: the rules were not all live, or none applied")
    print(
        f"discounts.applied: {applied} of {_DISCOUNT_RULES} rules apply, coupon "
        f"{'ok' if not probe.HasField('coupon_calculation_error') else 'refused'}, total "
        f"discount {probe.total_discount.amount}",
        flush=True,
    )
    return prepared


async def _cart_estimate_discounted(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    """EstimateTotals of 20-line carts (as cart.estimate) on a site with the 50 rules, each cart
    holding the coupon: the cart's pricing with GetAppliedDiscounts doing real work."""
    from ecom.cart.v1 import cart_pb2, cart_service_pb2_grpc
    from ecom.cart.v1 import cart_service_pb2 as cart
    from ecom.common.v1 import address_pb2

    assert _CART_LINES == _DISCOUNT_LINES  # the rules scope every line of the carts
    shoppers = await _cart_shoppers(channel, tokens)
    await _discount_setup(channel, tokens, _CART_ITEMS)
    stub = cart_service_pb2_grpc.CartServiceStub(channel)
    for shopper in shoppers:
        await stub.UpdateCart(
            cart.UpdateCartRequest(
                cart=cart_pb2.Cart(id=shopper.cart_id), coupon_code=_COUPON_CODE
            ),
            metadata=shopper.metadata,
        )
    destination = address_pb2.Address(country="US", subdivision="US-NY", city="New York")
    requests: list[tuple[Message, tuple[tuple[str, str], ...]]] = [
        (cart.EstimateTotalsRequest(id=s.cart_id, shipping_address=destination), s.metadata)
        for s in shoppers
    ]
    probe = await stub.EstimateTotals(
        cart.EstimateTotalsRequest(id=shoppers[0].cart_id, shipping_address=destination),
        metadata=shoppers[0].metadata,
    )
    errors = probe.calculation_errors
    rules = sum(1 for d in probe.applied_discounts if d.HasField("discount_rule"))
    coupon = any(d.HasField("coupon") for d in probe.applied_discounts)
    if errors.HasField("coupon_calculation_error") or not coupon or not rules:
        raise RuntimeError(
            f"cart.estimate_discounted: the coupon or the rules did not apply ({rules} rules, "
            f"coupon {coupon}): {errors}"
        )
    print(
        f"cart.estimate_discounted: {rules} of {_DISCOUNT_RULES} rules and the coupon apply, "
        f"discount {probe.price_summary.discount.amount} of subtotal "
        f"{probe.price_summary.subtotal.amount}",
        flush=True,
    )
    return await _rotating(
        channel, "/ecom.cart.v1.CartService/EstimateTotals", requests, cart.EstimateTotalsResponse
    )


SCENARIOS["discounts.applied"] = Scenario(
    "discounts.applied",
    ("providers", "catalog", "discounts"),
    "GetAppliedDiscounts: 20 lines, 50 live rules (every kind), a coupon",
    _discounts_applied,
)
SCENARIOS["cart.estimate_discounted"] = Scenario(
    "cart.estimate_discounted",
    ("providers", "catalog", "shipping", "fees", "discounts", "cart"),
    "CartService/EstimateTotals, 20 lines, 50 live rules and a coupon: as cart.estimate, with "
    "GetAppliedDiscounts doing the work of discounts.applied",
    _cart_estimate_discounted,
)

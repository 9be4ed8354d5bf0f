"""A whole purchase over real gRPC: a visitor's cart -> checkout -> CreateOrder -> GetOrder, with
the reference catalog (and its inventory), shipping and fee providers, New York sales tax, the
real discounts service (a rule and a coupon) and the real orders service. Totals are compared
with figures computed by hand."""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2

from ecom.cart.v1 import cart_service_pb2, current_cart_service_pb2
from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2
from ecom.common.v1 import buyer_pb2, channel_pb2, shipping_pb2
from ecom.orders.v1 import orders_service_pb2
from services.platform.providers import Kind
from tests.integration.checkout.conftest import Suite, product
from tests.integration.checkout.kit import FeesProvider, ShippingProvider, address, line
from tests.integration.checkout.test_create_order import ready
from tests.integration.checkout.test_discount_usage import (
    coupon_uses,
    make_coupon,
    make_rule,
    rule_uses,
)

pytestmark = pytest.mark.integration
pb = checkout_service_pb2


async def test_a_cart_becomes_an_order_with_exact_totals(suite: Suite) -> None:
    await suite.products(
        product("tee", "19.99"), product("mug", "8.50"), stock={"tee": 10, "mug": 5}
    )
    await suite.provide(
        Kind.SHIPPING_RATES,
        "acme-shipping",
        ShippingProvider(rates={"standard": ("Standard", "5.00"), "express": ("Express", "12")}),
    )
    await suite.provide(
        Kind.ADDITIONAL_FEES,
        "acme-fees",
        FeesProvider(fees={"handling": ("Handling", "1.50", True)}),
    )
    buyer = suite.visitor("visitor-42")

    # The visitor fills a cart, and the cart service makes the checkout (calling CreateCheckout).
    await suite.current_cart.AddToCurrentCart(
        current_cart_service_pb2.AddToCurrentCartRequest(
            line_items=[line("tee", 2), line("mug", 1)]
        ),
        metadata=buyer,
    )
    cart = (
        await suite.current_cart.GetCurrentCart(
            current_cart_service_pb2.GetCurrentCartRequest(), metadata=buyer
        )
    ).cart
    created = await suite.cart.CreateCheckout(
        cart_service_pb2.CreateCheckoutRequest(
            id=cart.id, channel_type=channel_pb2.CHANNEL_TYPE_WEB
        ),
        metadata=buyer,
    )
    checkout_id = created.checkout_id

    # Details, then the cheaper option is selected by default.
    update = checkout_pb2.Checkout(
        id=checkout_id,
        buyer_info=buyer_pb2.BuyerInfo(email="ada@example.com"),
        billing_info=address(),
    )
    update.shipping_info.shipping_destination.CopyFrom(address())
    checkout = (
        await suite.checkout.UpdateCheckout(
            pb.UpdateCheckoutRequest(checkout=update), metadata=buyer
        )
    ).checkout
    assert checkout.cart_id == cart.id
    assert checkout.purchase_flow_id == cart.purchase_flow_id
    assert [
        (line.catalog_reference.catalog_item_id, line.quantity) for line in checkout.line_items
    ] == [
        ("tee", 2),
        ("mug", 1),
    ]
    selected = checkout.shipping_info.selected_carrier_service_option
    assert (selected.carrier_id, selected.code, selected.requested_shipping_option) == (
        "acme-shipping",
        "standard",
        False,
    )
    # subtotal 2 x 19.99 + 8.50 = 48.48; shipping 5.00; fee 1.50 (taxable);
    # tax 8.875% per part: 39.98 -> 3.55, 8.50 -> 0.75, 5.00 -> 0.44, 1.50 -> 0.13 = 4.87;
    # total 48.48 + 5.00 + 1.50 + 4.87 = 59.85.
    summary = checkout.price_summary
    assert summary.subtotal.amount == "48.48"
    assert summary.shipping.amount == "5.00"
    assert summary.additional_fees.amount == "1.50"
    assert summary.tax.amount == "4.87"
    assert summary.discount.amount == "0.00"
    assert summary.total.amount == "59.85"
    assert summary.total.formatted_amount == "$59.85"
    assert not checkout.HasField("calculation_errors")

    # The buyer picks express: 12.00 shipping, taxed 1.065 -> 1.06 (half-even).
    pick = checkout_pb2.Checkout(id=checkout_id, revision=checkout.revision)
    pick.shipping_info.selected_carrier_service_option.CopyFrom(
        shipping_pb2.SelectedCarrierServiceOption(carrier_id="acme-shipping", code="express")
    )
    checkout = (
        await suite.checkout.UpdateCheckout(
            pb.UpdateCheckoutRequest(
                checkout=pick,
                update_mask=field_mask_pb2.FieldMask(
                    paths=["shipping_info.selected_carrier_service_option"]
                ),
            ),
            metadata=buyer,
        )
    ).checkout
    assert checkout.shipping_info.selected_carrier_service_option.requested_shipping_option
    assert checkout.price_summary.tax.amount == "5.49"  # 3.55 + 0.75 + 1.06 + 0.13
    assert checkout.price_summary.total.amount == "67.47"  # 48.48 + 12 + 1.50 + 5.49

    placed = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=checkout_id, revision=checkout.revision, expected_total="67.47"),
        metadata=buyer,
    )
    assert placed.order_id
    assert placed.checkout.completed and placed.checkout.order_id == placed.order_id

    order = (
        await suite.orders().GetOrder(
            orders_service_pb2.GetOrderRequest(id=placed.order_id), metadata=buyer
        )
    ).order
    assert order.checkout_id == checkout_id
    assert order.price_summary.total.amount == "67.47"
    assert order.price_summary.tax.amount == "5.49"
    assert order.price_summary.shipping.amount == "12.00"
    assert order.buyer_info.visitor_id == "visitor-42"
    assert order.buyer_info.email == "ada@example.com"
    assert [(i.catalog_reference.catalog_item_id, i.quantity) for i in order.line_items] == [
        ("tee", 2),
        ("mug", 1),
    ]
    assert order.shipping_info.code == "express"
    assert order.purchase_flow_id == cart.purchase_flow_id

    # Stock: reserved, then committed (sold).
    assert (await suite.product_stock("tee")).quantity == 8
    assert (await suite.product_stock("mug")).quantity == 4
    assert await suite.events(entity_id=checkout_id) == [
        "ecom.checkout.v1.checkout_created",
        "ecom.checkout.v1.checkout_updated",
        "ecom.checkout.v1.checkout_updated",
        "ecom.checkout.v1.checkout_completed",
    ]
    # Placing it again answers the same order, whatever the revision and total say.
    again = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=checkout_id, revision=1, expected_total="1.00"), metadata=buyer
    )
    assert again.order_id == placed.order_id


async def test_a_purchase_with_a_rule_and_a_coupon_has_exact_totals(suite: Suite) -> None:
    await suite.products(
        product("tee", "19.99"), product("mug", "8.50"), stock={"tee": 10, "mug": 5}
    )
    await suite.provide(
        Kind.SHIPPING_RATES,
        "acme-shipping",
        ShippingProvider(rates={"standard": ("Standard", "5.00")}),
    )
    await suite.provide(
        Kind.ADDITIONAL_FEES,
        "acme-fees",
        FeesProvider(fees={"handling": ("Handling", "1.50", True)}),
    )
    rule = await make_rule(suite, "Tees 10% off", "tee", "10", usage_limit=100)
    coupon = await make_coupon(suite, "THREE", moneyOffAmount="3.00", usageLimit=10)
    buyer = suite.visitor("visitor-7")
    checkout = await suite.create(
        [line("tee", 2), line("mug", 1)], metadata=buyer, info=ready(), coupon_code="three"
    )

    # subtotal 2 x 19.99 + 8.50 = 48.48.
    # Rule: 10% off each tee: 19.99 x 10% = 1.999 per unit, 39.98 x 10% = 3.998 -> 4.00 on the
    # line; tees left 35.98.
    # Coupon: 3.00 once off the whole order, split by what the rule left (35.98 and 8.50 of
    # 44.48): tee 3.00 x 35.98 / 44.48 = 2.4267 -> 2.42, mug 3.00 x 8.50 / 44.48 = 0.5733 ->
    # 0.57 (rounded down, 2.99 in all); the missing cent goes to the largest remainder (tee):
    # tee 2.43, mug 0.57. Discount 4.00 + 3.00 = 7.00.
    # Lines after discounts: tee 35.98 - 2.43 = 33.55, mug 8.50 - 0.57 = 7.93.
    # Tax 8.875% per part, half-even: 33.55 -> 2.9775625 -> 2.98; 7.93 -> 0.7037875 -> 0.70;
    # shipping 5.00 -> 0.44375 -> 0.44; fee 1.50 -> 0.133125 -> 0.13; tax 4.25.
    # Total 48.48 - 7.00 + 5.00 + 1.50 + 4.25 = 52.23.
    summary = checkout.price_summary
    assert summary.subtotal.amount == "48.48"
    assert summary.discount.amount == "7.00"
    assert summary.shipping.amount == "5.00"
    assert summary.additional_fees.amount == "1.50"
    assert summary.tax.amount == "4.25"
    assert summary.total.amount == "52.23"
    assert not checkout.HasField("calculation_errors")
    items = {line.id: line.catalog_reference.catalog_item_id for line in checkout.line_items}
    by_line = {
        items[calculated.line_item_id]: (
            calculated.prices_breakdown.total_discount.amount,
            calculated.prices_breakdown.total_price_before_tax.amount,
            calculated.prices_breakdown.tax_details.total_tax.amount,
        )
        for calculated in checkout.calculated_line_items
    }
    # tee: 4.00 + 2.43 off, 33.55 left, 2.98 tax; mug: 0.57 off, 7.93 left, 0.70 tax.
    assert by_line == {"tee": ("6.43", "33.55", "2.98"), "mug": ("0.57", "7.93", "0.70")}

    placed = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=checkout.id, expected_total="52.23"), metadata=buyer
    )
    order = (
        await suite.orders().GetOrder(
            orders_service_pb2.GetOrderRequest(id=placed.order_id), metadata=buyer
        )
    ).order
    totals = order.price_summary
    assert (
        totals.subtotal.amount,
        totals.discount.amount,
        totals.shipping.amount,
        totals.additional_fees.amount,
        totals.tax.amount,
        totals.total.amount,
    ) == ("48.48", "7.00", "5.00", "1.50", "4.25", "52.23")
    assert sorted(
        (d.WhichOneof("discount_source_type"), d.coupon.code or d.discount_rule.id)
        for d in order.applied_discounts
    ) == [("coupon", "THREE"), ("discount_rule", rule.id)]
    # The order's uses are counted once it exists.
    assert await coupon_uses(suite, coupon.id) == 1
    assert await rule_uses(suite, rule.id) == 1

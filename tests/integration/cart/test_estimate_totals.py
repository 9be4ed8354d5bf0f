"""EstimateTotals against hand-computed figures (USD with tax on top, JPY with tax included),
with shipping, fee and validations providers of the test registered through the registry."""

from __future__ import annotations

import json

import grpc
import pytest

from ecom.cart.v1 import cart_pb2
from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.common.v1 import address_pb2, calculation_pb2, pricing_pb2, shipping_pb2
from services.platform.providers import Kind
from tests.integration.cart.conftest import DEMO_ITEMS, StartSuite
from tests.integration.cart.kit import (
    CatalogProvider,
    FeesProvider,
    ShippingProvider,
    ValidationsProvider,
    item,
    line,
)

pytestmark = pytest.mark.integration

NEW_YORK = address_pb2.Address(country="US", subdivision="US-NY", city="New York")
TOKYO = address_pb2.Address(country="JP", subdivision="JP-13", city="Tokyo")
US_TAX = {
    "jurisdictions": {"US-NY": {"tax_name": "Sales tax", "rate": "0.08875"}},
    "shipping_taxable": True,
    "fees_taxable": True,
}


def amounts(summary: pricing_pb2.PriceSummary) -> dict[str, str]:
    return {
        "subtotal": summary.subtotal.amount,
        "discount": summary.discount.amount,
        "shipping": summary.shipping.amount,
        "additional_fees": summary.additional_fees.amount,
        "tax": summary.tax.amount,
        "total": summary.total.amount,
    }


async def test_usd_totals_match_the_hand_computed_figures(start_suite: StartSuite) -> None:
    suite = await start_suite(ECOM_TAX_RATES=json.dumps(US_TAX))
    await suite.provide(Kind.CATALOG, "shop", CatalogProvider(DEMO_ITEMS))
    await suite.provide(
        Kind.SHIPPING_RATES,
        "ship",
        ShippingProvider(
            {"express": ("Express", "15.00"), "standard": ("Standard", "5.00")}, region="domestic"
        ),
    )
    fees = FeesProvider({"handling": ("Handling", "1.50", True)})
    await suite.provide(Kind.ADDITIONAL_FEES, "fees", fees)
    me = suite.member()
    created = await suite.cart.CreateCart(
        cart_pb.CreateCartRequest(line_items=[line("tee", 3), line("pin", 7), line("mug", 2)]),
        metadata=me,
    )
    cart_id = created.cart.id
    # A merchant discount of 10.00 on the whole cart (admins only).
    await suite.cart.UpdateCart(
        cart_pb.UpdateCartRequest(
            cart=cart_pb2.Cart(id=cart_id),
            merchant_discounts=[
                pricing_pb2.MerchantDiscountInput(amount="10", description="Sorry")
            ],
        ),
        metadata=suite.admin(),
    )

    totals = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(id=cart_id, shipping_address=NEW_YORK), metadata=me
    )

    # Lines: 3 x 19.99 = 59.97; 7 x 0.125 = 0.875 -> 0.88 (half-even); 2 x 8.50 = 17.00.
    # Subtotal 77.85. The 10.00 discount spread by largest remainder: 7.70 / 0.11 / 2.19.
    # Tax 8.875% per line after discount: 52.27 -> 4.64, 0.77 -> 0.07, 14.81 -> 1.31;
    # shipping (cheapest, 5.00) -> 0.44; handling fee 1.50 -> 0.13. Tax 6.59.
    # Total 77.85 - 10.00 + 5.00 + 1.50 + 6.59 = 80.94.
    assert amounts(totals.price_summary) == {
        "subtotal": "77.85",
        "discount": "10.00",
        "shipping": "5.00",
        "additional_fees": "1.50",
        "tax": "6.59",
        "total": "80.94",
    }
    lines = {c.line_item_id: c.prices_breakdown for c in totals.calculated_line_items}
    by_item = {li.catalog_reference.catalog_item_id: li.id for li in totals.cart.line_items}
    assert lines[by_item["pin"]].price.amount == "0.125"  # unit price echoed exactly
    assert [
        (
            lines[by_item[name]].line_item_price.amount,
            lines[by_item[name]].total_discount.amount,
            lines[by_item[name]].tax_details.total_tax.amount,
            lines[by_item[name]].total_price_after_tax.amount,
        )
        for name in ("tee", "pin", "mug")
    ] == [
        ("59.97", "7.70", "4.64", "56.91"),
        ("0.88", "0.11", "0.07", "0.84"),
        ("17.00", "2.19", "1.31", "16.12"),
    ]
    assert lines[by_item["tee"]].tax_details.tax_rate == "0.08875"
    assert totals.tax_summary.total_tax.amount == "6.59"
    assert totals.pay_now.total.amount == "80.94" and totals.pay_later.total.amount == "0.00"
    selected = totals.shipping_info.selected_carrier_service_option
    assert (selected.carrier_id, selected.code, selected.requested_shipping_option) == (
        "ship",
        "standard",
        False,
    )
    assert selected.cost.tax_details.total_tax.amount == "0.44"
    assert totals.shipping_info.region.id == "domestic"
    assert selected.cost.total_price_after_tax.amount == "5.44"
    options = totals.shipping_info.carrier_service_options[0].shipping_options
    assert [o.code for o in options] == ["standard", "express"]  # cheapest first
    (fee,) = totals.additional_fees
    assert (fee.code, fee.provider_app_id, fee.price.amount, fee.price_after_tax.amount) == (
        "handling",
        "fees",
        "1.50",
        "1.63",
    )
    (merchant,) = totals.applied_discounts
    assert merchant.merchant_discount.amount.amount == "10.00"
    assert merchant.discount_type == pricing_pb2.DISCOUNT_TYPE_GLOBAL
    assert not totals.HasField("calculation_errors")
    # The fee provider saw the lines, the selected option and the shipping price.
    request = fees.seen[-1]
    assert request.subtotal == "77.85" and request.shipping_price == "5.00"
    assert request.selected_shipping_option.code == "standard"

    # Asking for express prices express (requested), and the cart is not changed by estimates.
    express = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(
            id=cart_id,
            shipping_address=NEW_YORK,
            selected_shipping_option=shipping_pb2.SelectedShippingOption(
                carrier_id="ship", code="express"
            ),
        ),
        metadata=me,
    )
    assert express.price_summary.shipping.amount == "15.00"
    assert express.shipping_info.selected_carrier_service_option.requested_shipping_option
    after = await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart_id), metadata=me)
    assert after.cart.revision == 2 and not after.cart.HasField("selected_shipping_option")


async def test_jpy_totals_with_tax_included_match_the_hand_computed_figures(
    start_suite: StartSuite, site: str
) -> None:
    settings = {
        site: {
            "currency": "JPY",
            "site_language": "ja",
            "tax_included_in_prices": True,
            "tax_rates": {
                "jurisdictions": {
                    "JP": {"tax_name": "JCT", "rate": "0.10", "tax_group_rates": {"food": "0.08"}}
                }
            },
        }
    }
    suite = await start_suite(ECOM_SITE_SETTINGS=json.dumps(settings))
    yen = {
        "sencha": item("Sencha", "1200", tax_group="food"),
        "teapot": item("Teapot", "3980"),
        "cup": item("Cup", "650"),
    }
    await suite.provide(Kind.CATALOG, "shop", CatalogProvider(yen))
    await suite.provide(
        Kind.SHIPPING_RATES, "yamato", ShippingProvider({"standard": ("Standard", "800")})
    )
    me = suite.visitor()
    created = await suite.cart.CreateCart(
        cart_pb.CreateCartRequest(line_items=[line("sencha", 3), line("teapot"), line("cup", 2)]),
        metadata=me,
    )
    assert created.cart.currency == "JPY" and created.cart.tax_included_in_prices
    await suite.cart.UpdateCart(
        cart_pb.UpdateCartRequest(
            cart=cart_pb2.Cart(id=created.cart.id),
            merchant_discounts=[pricing_pb2.MerchantDiscountInput(amount="500")],
        ),
        metadata=suite.admin(),
    )
    totals = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(id=created.cart.id, shipping_address=TOKYO), metadata=me
    )
    # Subtotal 3600 + 3980 + 1300 = 8880. Discount 500 by largest remainder: 203 / 224 / 73.
    # Tax inside the prices: sencha (food, 8%) 3397 * 0.08 / 1.08 = 251.63 -> 252;
    # teapot 3756 / 11 = 341.45 -> 341; cup 1227 / 11 = 111.55 -> 112; shipping 800 / 11 =
    # 72.73 -> 73. Tax 778, contained in the total 8880 - 500 + 800 = 9180.
    assert amounts(totals.price_summary) == {
        "subtotal": "8880",
        "discount": "500",
        "shipping": "800",
        "additional_fees": "0",
        "tax": "778",
        "total": "9180",
    }
    by_item = {li.id: li.catalog_reference.catalog_item_id for li in totals.cart.line_items}
    assert {
        by_item[c.line_item_id]: (
            c.prices_breakdown.total_discount.amount,
            c.prices_breakdown.tax_details.total_tax.amount,
            c.prices_breakdown.total_price_before_tax.amount,
        )
        for c in totals.calculated_line_items
    } == {
        "sencha": ("203", "252", "3145"),
        "teapot": ("224", "341", "3415"),
        "cup": ("73", "112", "1115"),
    }
    assert totals.price_summary.total.formatted_amount == "¥9,180"
    assert totals.currency == "JPY"


async def test_provider_failures_are_calculation_errors_not_failed_calls(
    start_suite: StartSuite,
) -> None:
    suite = await start_suite(ECOM_TAX_RATES=json.dumps(US_TAX))
    await suite.provide(Kind.CATALOG, "shop", CatalogProvider(DEMO_ITEMS))
    good = ShippingProvider({"standard": ("Standard", "5.00")})
    await suite.provide(Kind.SHIPPING_RATES, "good-ship", good)
    await suite.provide(
        Kind.SHIPPING_RATES,
        "bad-ship",
        ShippingProvider({"x": ("X", "1")}, currency_override="EUR"),
    )
    slow = ShippingProvider({"slow": ("Slow", "1.00")}, delay_s=30)
    started = await suite.provide(Kind.SHIPPING_RATES, "slow-ship", slow)
    await suite.register(Kind.SHIPPING_RATES, "slow-ship-2", started.target, timeout_ms=200)
    await suite.provide(
        Kind.ADDITIONAL_FEES, "broken-fees", FeesProvider(fail=grpc.StatusCode.INTERNAL)
    )
    cart_validator = ValidationsProvider(max_quantity=2)
    checkout_only = ValidationsProvider(max_quantity=0)
    await suite.provide(Kind.VALIDATIONS, "limits", cart_validator, validate_in_cart=True)
    await suite.provide(Kind.VALIDATIONS, "checkout-only", checkout_only)
    me = suite.member()
    created = await suite.cart.CreateCart(
        cart_pb.CreateCartRequest(line_items=[line("tee", 3)], coupon_code="SPRING"), metadata=me
    )
    totals = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(id=created.cart.id, shipping_address=NEW_YORK),
        metadata=me,
        timeout=1.0,
    )
    errors = totals.calculation_errors
    carriers = {e.carrier_id: e.error.code for e in errors.carrier_errors}
    assert carriers["bad-ship"] == "PROVIDER_ERROR"
    assert carriers["slow-ship-2"] == "PROVIDER_TIMEOUT"
    # The slow provider registered with the default 2 s timeout is cut by the call's deadline.
    assert carriers["slow-ship"] == "PROVIDER_TIMEOUT"
    assert [o.carrier_id for o in totals.shipping_info.carrier_service_options] == ["good-ship"]
    assert totals.price_summary.shipping.amount == "5.00"
    assert [e.app_id for e in errors.additional_fees_errors] == ["broken-fees"]
    # The discounts service (served beside the cart) knows no coupon SPRING on this site.
    assert errors.coupon_calculation_error.code == "COUPON_NOT_FOUND"
    assert not errors.HasField("discounts_calculation_error")
    (coupon,) = [d for d in totals.applied_discounts if d.HasField("coupon")]
    assert (coupon.coupon.code, coupon.coupon.amount.amount) == ("SPRING", "0.00")
    (violation,) = totals.violations
    assert violation.severity == calculation_pb2.VIOLATION_SEVERITY_ERROR
    assert violation.target.line_item.id == totals.cart.line_items[0].id
    assert checkout_only.calls == 0  # validate_in_cart false: never sees carts
    assert totals.price_summary.total.amount == "70.73"  # 59.97 + 5.00 + tax 5.32 + 0.44


async def test_no_address_no_providers_and_switches(start_suite: StartSuite) -> None:
    suite = await start_suite(ECOM_TAX_RATES=json.dumps(US_TAX))
    await suite.provide(Kind.CATALOG, "shop", CatalogProvider(DEMO_ITEMS))
    me = suite.visitor()
    created = await suite.cart.CreateCart(
        cart_pb.CreateCartRequest(line_items=[line("tee"), line("ebook")]), metadata=me
    )
    cart_id = created.cart.id
    # No shipping provider registered: no options and no error.
    plain = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(id=cart_id, shipping_address=NEW_YORK), metadata=me
    )
    assert not plain.HasField("calculation_errors")
    assert plain.HasField("shipping_info") and not plain.shipping_info.carrier_service_options
    # Tax is rounded per line: 19.99 * 8.875% = 1.774 -> 1.77; 5.00 * 8.875% = 0.444 -> 0.44.
    assert plain.price_summary.tax.amount == "2.21"
    await suite.provide(
        Kind.SHIPPING_RATES, "ship", ShippingProvider({"standard": ("Standard", "5.00")})
    )
    # A provider but no address: no options, a general shipping error, and no tax either.
    blind = await suite.cart.EstimateTotals(cart_pb.EstimateTotalsRequest(id=cart_id), metadata=me)
    general = blind.calculation_errors.general_shipping_calculation_error
    assert general.code == "NO_SHIPPING_OPTIONS"
    assert blind.price_summary.tax.amount == "0.00"
    # The billing address is used for tax when no shipping address is known.
    billed = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(id=cart_id, billing_address=NEW_YORK), metadata=me
    )
    assert billed.price_summary.tax.amount == "2.21"
    switched_off = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(
            id=cart_id,
            shipping_address=NEW_YORK,
            calculate_tax=False,
            calculate_shipping=False,
        ),
        metadata=me,
    )
    assert amounts(switched_off.price_summary) == {
        "subtotal": "24.99",
        "discount": "0.00",
        "shipping": "0.00",
        "additional_fees": "0.00",
        "tax": "0.00",
        "total": "24.99",
    }
    # Nothing ships: no shipping info at all.
    digital = await suite.cart.CreateCart(
        cart_pb.CreateCartRequest(line_items=[line("ebook", 2)]), metadata=me
    )
    only_ebook = await suite.cart.EstimateTotals(
        cart_pb.EstimateTotalsRequest(id=digital.cart.id, shipping_address=NEW_YORK), metadata=me
    )
    assert not only_ebook.HasField("shipping_info")
    assert only_ebook.price_summary.total.amount == "10.89"  # 10.00 + 0.8875 -> 0.89

"""How often a purchase asks each provider: once per calculation, with the option the checkout
ends up with. A new checkout has no shipping option to speculate with, so its fees and
validations providers are asked after the shipping answers, not before and again after."""

from __future__ import annotations

import pytest

from ecom.checkout.v1 import checkout_service_pb2
from services.platform.providers import Kind
from tests.integration.checkout.conftest import SQLITE_ONLY, Suite, product
from tests.integration.checkout.kit import (
    FeesProvider,
    ShippingProvider,
    ValidationsProvider,
    line,
)
from tests.integration.checkout.test_create_order import ready

pytestmark = [pytest.mark.integration, SQLITE_ONLY]
pb = checkout_service_pb2


async def test_a_purchase_asks_each_provider_once_per_calculation(suite: Suite) -> None:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 5})
    rates = ShippingProvider(rates={"standard": ("Standard", "5.00"), "express": ("Express", "9")})
    fees = FeesProvider(fees={"handling": ("Handling", "1.50", True)})
    rules = ValidationsProvider(max_quantity=10)
    await suite.provide(Kind.SHIPPING_RATES, "ship", rates)
    await suite.provide(Kind.ADDITIONAL_FEES, "fees", fees)
    await suite.provide(Kind.VALIDATIONS, "rules", rules)

    checkout = await suite.create([line("lamp", 2)], info=ready())

    selected = checkout.shipping_info.selected_carrier_service_option
    assert (selected.carrier_id, selected.code) == ("ship", "standard")
    assert checkout.price_summary.additional_fees.amount == "1.50"
    assert not checkout.HasField("calculation_errors")
    assert (rates.calls, len(fees.seen), len(rules.seen)) == (1, 1, 1)
    # The one question already names the option the shipping answers selected, at its price.
    assert (fees.seen[0].selected_shipping_option.code, fees.seen[0].shipping_price) == (
        "standard",
        "5.00",
    )
    chosen = rules.seen[0].shipping_info.selected_carrier_service_option
    assert (chosen.carrier_id, chosen.code, chosen.cost.price.amount) == (
        "ship",
        "standard",
        "5.00",
    )

    placed = await suite.checkout.CreateOrder(
        pb.CreateOrderRequest(id=checkout.id), metadata=suite.visitor()
    )

    assert placed.order_id
    # CreateOrder recalculates once: the stored option is the right guess, nothing is asked again.
    assert (len(fees.seen), len(rules.seen)) == (2, 2)
    assert fees.seen[1].selected_shipping_option.code == "standard"


async def test_a_new_checkout_without_options_asks_fees_and_validations_once(
    suite: Suite,
) -> None:
    await suite.products(product("lamp", "30.00"), stock={"lamp": 5})
    fees = FeesProvider(fees={"handling": ("Handling", "1.50", True)})
    rules = ValidationsProvider(max_quantity=10)
    await suite.provide(Kind.SHIPPING_RATES, "ship", ShippingProvider(rates={}))
    await suite.provide(Kind.ADDITIONAL_FEES, "fees", fees)
    await suite.provide(Kind.VALIDATIONS, "rules", rules)

    checkout = await suite.create([line("lamp", 1)], info=ready())

    assert not checkout.shipping_info.selected_carrier_service_option.code
    assert checkout.calculation_errors.general_shipping_calculation_error.code == (
        "NO_SHIPPING_OPTIONS"
    )
    assert checkout.price_summary.additional_fees.amount == "1.50"
    assert (len(fees.seen), len(rules.seen)) == (1, 1)
    assert not fees.seen[0].HasField("selected_shipping_option")

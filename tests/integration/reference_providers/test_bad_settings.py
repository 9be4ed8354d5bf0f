"""Settings a provider cannot read: INVALID_ARGUMENT with a field violation per problem, each
naming the setting's path, together with the request's own problems."""

from __future__ import annotations

from typing import Any

from ecom.common.v1 import channel_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as fees_pb
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_pb
from ecom.spi.validations.v1 import validations_provider_service_pb2 as validations_pb
from tests.integration.reference_providers.kit import Providers, field_violations, line, struct


async def shipping_violations(
    providers: Providers, settings: dict[str, Any], **fields: Any
) -> dict[str, str]:
    request = shipping_pb.GetShippingRatesRequest(
        line_items=[line("a")],
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        currency="USD",
        settings=struct(settings),
    )
    for name, value in fields.items():
        setattr(request, name, value)
    return await field_violations(
        providers.shipping.GetShippingRates(request, metadata=providers.metadata())
    )


async def test_shipping_settings_problems_name_their_paths(providers: Providers) -> None:
    settings = {
        "weight_unit": "stone",
        "regions": [
            {
                "id": "us",
                "name": "US",
                "countries": ["US", "USA"],
                "rates": [
                    {"code": "std", "title": "Standard", "type": "flat", "price": 5.0},
                    {
                        "code": "eco",
                        "title": "Economy",
                        "type": "weight_tiers",
                        "tiers": [
                            {"up_to_weight": "5", "price": "4.00"},
                            {"up_to_weight": "2", "price": "-1"},
                        ],
                    },
                    {"code": "pick", "title": "Pickup", "type": "pickup"},
                    {"code": "std", "title": "Again", "type": "drone", "price": "1"},
                ],
            },
            {"id": "us", "name": "Again", "countries": ["US"], "rates": [], "zone": 1},
        ],
    }

    violations = await shipping_violations(providers, settings)

    assert set(violations) == {
        "settings.weight_unit",
        "settings.regions[0].countries[1]",
        "settings.regions[0].rates[0].price",
        "settings.regions[0].rates[1].tiers[1].up_to_weight",
        "settings.regions[0].rates[1].tiers[1].price",
        "settings.regions[0].rates[2].pickup",
        "settings.regions[0].rates[3].type",
        "settings.regions[0].rates[3].code",
        "settings.regions[1].zone",
        "settings.regions[1].id",
        "settings.regions[1].countries",
    }
    assert violations["settings.weight_unit"] == "must be one of KG, LB, not 'stone'"
    assert "decimal string" in violations["settings.regions[0].rates[0].price"]
    assert "previous tier" in violations["settings.regions[0].rates[1].tiers[1].up_to_weight"]
    assert "negative" in violations["settings.regions[0].rates[1].tiers[1].price"]
    assert "already in settings.regions[0]" in violations["settings.regions[1].countries"]
    assert violations["settings.regions[1].zone"].startswith("unknown setting")


async def test_shipping_pickup_needs_a_full_address(providers: Providers) -> None:
    settings = {
        "currency": "JPY",
        "regions": [
            {
                "id": "jp",
                "name": "Japan",
                "countries": ["JP"],
                "rates": [
                    {"code": "std", "title": "Standard", "type": "flat", "price": "500.5"},
                    {
                        "code": "pick",
                        "title": "Pickup",
                        "type": "pickup",
                        "pickup": {"address": {"country": "JP"}, "method": "drive-through"},
                    },
                ],
            }
        ],
    }

    violations = await shipping_violations(providers, settings, currency="JPY")

    assert set(violations) == {
        "settings.regions[0].rates[0].price",
        "settings.regions[0].rates[1].pickup.address.city",
        "settings.regions[0].rates[1].pickup.address.address_line",
        "settings.regions[0].rates[1].pickup.method",
    }
    assert "more decimals than JPY allows" in violations["settings.regions[0].rates[0].price"]


async def test_request_and_settings_problems_come_together(providers: Providers) -> None:
    violations = await shipping_violations(
        providers,
        {"regions": "everywhere"},
        currency="usd",
        weight_unit=channel_pb2.WEIGHT_UNIT_UNSPECIFIED,
    )
    assert set(violations) == {"settings.regions", "currency", "weight_unit"}


async def test_fee_settings_problems_name_their_paths(providers: Providers) -> None:
    settings = {
        "currency": "XYZ",
        "handling_fee_per_item": {"amount": "0.5.0", "per": "box", "item_types": ["", 3]},
        "order_fees_by_region": [
            {"code": "levy", "name": "Levy", "countries": ["DE"], "amount": "1.00"},
            {"code": "levy", "name": "", "amount": "1", "taxable": "yes"},
        ],
    }
    request = fees_pb.CalculateAdditionalFeesRequest(
        line_items=[line("a", price="abc")], currency="USD", subtotal="0", settings=struct(settings)
    )

    violations = await field_violations(
        providers.fees.CalculateAdditionalFees(request, metadata=providers.metadata())
    )

    assert set(violations) == {
        "line_items[0].price.amount",
        "settings.currency",
        "settings.handling_fee_per_item.amount",
        "settings.handling_fee_per_item.per",
        "settings.handling_fee_per_item.item_types[0]",
        "settings.handling_fee_per_item.item_types[1]",
        "settings.order_fees_by_region[1].code",
        "settings.order_fees_by_region[1].name",
        "settings.order_fees_by_region[1].countries",
        "settings.order_fees_by_region[1].taxable",
    }
    assert (
        violations["settings.handling_fee_per_item.per"] == "must be one of unit, line, not 'box'"
    )


async def test_validation_settings_problems_name_their_paths(providers: Providers) -> None:
    settings = {
        "per_item": {
            "default": {"min": 0, "max": 2.5, "severity": "fatal"},
            "items": {"poster": {"min": 3, "max": 2}, "mug": "ten"},
        },
        "minimum_order_value": {"amount": 5},
        "blocked_destinations": {"countries": ["Mars"]},
    }
    request = validations_pb.GetValidationViolationsRequest(
        source=validations_pb.SOURCE_CART,
        line_items=[line("a")],
        currency="USD",
        settings=struct(settings),
    )

    violations = await field_violations(
        providers.validations.GetValidationViolations(request, metadata=providers.metadata())
    )

    assert set(violations) == {
        "settings.per_item.default.min",
        "settings.per_item.default.max",
        "settings.per_item.default.severity",
        'settings.per_item.items["poster"].min',
        'settings.per_item.items["mug"]',
        "settings.minimum_order_value.amount",
        "settings.blocked_destinations.countries[0]",
    }
    assert violations["settings.per_item.default.severity"] == (
        "must be one of WARNING, ERROR, not 'fatal'"
    )
    assert violations['settings.per_item.items["poster"].min'] == "min (3) is more than max (2)"

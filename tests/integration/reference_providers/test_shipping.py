"""The reference shipping-rates provider over real gRPC: region tables, flat rates, weight tiers in
KG and LB, free shipping over a threshold, pickup, and what it leaves out."""

from __future__ import annotations

from typing import Any

import grpc

from ecom.common.v1 import address_pb2, channel_pb2, line_item_pb2, shipping_pb2
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as pb
from services.platform.identity import Role
from tests.integration.reference_providers.kit import (
    Providers,
    address,
    error_reason,
    line,
    refused,
    struct,
)

KG = channel_pb2.WEIGHT_UNIT_KG
LB = channel_pb2.WEIGHT_UNIT_LB


async def rates(
    providers: Providers,
    lines: list[line_item_pb2.LineItem],
    destination: address_pb2.Address | None = None,
    *,
    settings: dict[str, Any] | None = None,
    weight_unit: int = KG,
    currency: str = "USD",
    tax_included: bool = False,
) -> pb.GetShippingRatesResponse:
    request = pb.GetShippingRatesRequest(
        line_items=lines,
        weight_unit=weight_unit,  # type: ignore[arg-type]
        currency=currency,
        tax_included_in_prices=tax_included,
        settings=struct(settings),
    )
    if destination is not None:
        request.shipping_destination.CopyFrom(destination)
    response: pb.GetShippingRatesResponse = await providers.shipping.GetShippingRates(
        request, metadata=providers.metadata()
    )
    return response


def prices(response: pb.GetShippingRatesResponse) -> dict[str, str]:
    return {rate.code: rate.cost.price for rate in response.shipping_rates}


async def test_default_settings_quote_the_domestic_table(providers: Providers) -> None:
    answer = await rates(providers, [line("a", price="30.00", weight="2")], address("US", "US-NY"))

    assert (answer.region.id, answer.region.name) == ("domestic", "United States")
    assert prices(answer) == {
        "standard": "5.00",
        "economy": "7.00",  # 2 kg: the 1..5 kg tier
        "express": "15.00",
        "pickup-new-york": "0.00",
    }
    by_code = {rate.code: rate for rate in answer.shipping_rates}
    standard = by_code["standard"]
    assert standard.title == "Standard delivery"
    assert standard.logistics.delivery_time == "3-5 business days"
    assert not standard.logistics.HasField("pickup_details")
    assert standard.cost.currency == "USD"
    assert not standard.cost.additional_charges


async def test_pickup_rates_carry_their_address(providers: Providers) -> None:
    answer = await rates(providers, [line("a")], address("US", "US-CA"))

    pickup = {rate.code: rate for rate in answer.shipping_rates}["pickup-new-york"]
    details = pickup.logistics.pickup_details
    assert details.address == address_pb2.Address(
        country="US",
        subdivision="US-NY",
        city="New York",
        postal_code="10001",
        address_line="1 Demo Plaza",
    )
    assert details.business_location is True
    assert details.pickup_method == shipping_pb2.PickupDetails.PICKUP_METHOD_STORE_PICKUP
    assert pickup.logistics.instructions == "Bring your order number and a photo ID."
    assert pickup.title == "Store pickup (New York)"


async def test_without_a_destination_only_pickup_is_offered(providers: Providers) -> None:
    settings = {
        "regions": [
            _region("us", ["US"], _flat("standard", "5.00"), _pickup("pickup-nyc", "New York")),
            _region("de", ["DE"], _flat("standard", "9.00"), _pickup("pickup-berlin", "Berlin")),
        ]
    }

    answer = await rates(providers, [line("a")], settings=settings)

    assert prices(answer) == {"pickup-nyc": "0.00", "pickup-berlin": "0.00"}
    assert not answer.HasField("region")


async def test_the_most_specific_region_wins_whatever_the_order(providers: Providers) -> None:
    settings = {
        "regions": [
            _region("world", ["*"], _flat("world", "30.00")),
            _region("us", ["US"], _flat("us", "5.00")),
            {**_region("remote", [], _flat("remote", "20.00")), "subdivisions": ["US-AK"]},
        ]
    }
    one = [line("a")]

    assert prices(await rates(providers, one, address("US", "US-NY"), settings=settings)) == {
        "us": "5.00"
    }
    remote = await rates(providers, one, address("US", "US-AK"), settings=settings)
    assert prices(remote) == {"remote": "20.00"}
    assert remote.region.id == "remote"
    # A subdivision written without its country prefix is read as the country's.
    assert prices(await rates(providers, one, address("us", "ak"), settings=settings)) == {
        "remote": "20.00"
    }
    world = await rates(providers, one, address("JP", "JP-13"), settings=settings)
    assert prices(world) == {"world": "30.00"}
    assert world.region.id == "world"


async def test_default_regions_for_alaska_the_eu_and_elsewhere(providers: Providers) -> None:
    one = [line("a", price="20.00", weight="1.5")]

    alaska = await rates(providers, one, address("US", "US-AK"))
    assert alaska.region.id == "us-remote"
    assert prices(alaska) == {"standard": "20.00"}

    germany = await rates(providers, one, address("DE", "DE-BE"))
    assert germany.region.id == "eu"
    assert prices(germany) == {"international": "25.00", "international-economy": "14.00"}

    nowhere = await rates(providers, one, address("JP"))
    assert not nowhere.shipping_rates
    assert not nowhere.HasField("region")


async def test_free_over_threshold_counts_shippable_lines_at_least_the_threshold(
    providers: Providers,
) -> None:
    us = address("US", "US-TX")
    at_threshold = [line("a", price="60.00"), line("b", price="20.00", quantity=2)]
    just_below = [line("a", price="59.99"), line("b", price="20.00", quantity=2)]
    # A non-shippable line does not bring the shipped goods over the threshold.
    digital_top_up = [*just_below, line("c", price="50.00", shippable=False, item_type="DIGITAL")]

    assert prices(await rates(providers, at_threshold, us))["standard"] == "0.00"
    assert prices(await rates(providers, just_below, us))["standard"] == "5.00"
    assert prices(await rates(providers, digital_top_up, us))["standard"] == "5.00"
    # Rates without a threshold keep their price.
    assert prices(await rates(providers, at_threshold, us))["express"] == "15.00"


async def test_weight_tiers_in_kg_with_a_pound_request(providers: Providers) -> None:
    """Default tiers are in KG (1, 5, 20). 2.2 lb = 0.99790 kg; 2.21 lb = 1.00244 kg."""
    us = address("US", "US-TX")

    async def economy(weight: str, unit: int, quantity: int = 1) -> str | None:
        answer = await rates(
            providers, [line("a", weight=weight, quantity=quantity)], us, weight_unit=unit
        )
        return prices(answer).get("economy")

    assert await economy("1", KG) == "3.50"  # bounds are inclusive
    assert await economy("1.001", KG) == "7.00"
    assert await economy("2.2", LB) == "3.50"
    assert await economy("2.21", LB) == "7.00"
    assert await economy("4", KG, quantity=5) == "12.00"  # weight counts every unit: 20 kg
    assert await economy("4.01", KG, quantity=5) is None  # over the last tier: not offered
    assert await economy("", KG) == "3.50"  # unknown weights count as 0


async def test_weight_tiers_in_pounds(providers: Providers) -> None:
    settings = {
        "weight_unit": "LB",
        "regions": [
            _region(
                "us",
                ["US"],
                {
                    "code": "ground",
                    "title": "Ground",
                    "type": "weight_tiers",
                    "tiers": [
                        {"up_to_weight": "2", "price": "4.00"},
                        {"up_to_weight": "10", "price": "8.00"},
                        {"price": "20.00"},  # no bound: any heavier order
                    ],
                },
            )
        ],
    }
    us = address("US", "US-OR")

    async def ground(weight: str, unit: int) -> str:
        answer = await rates(
            providers, [line("a", weight=weight)], us, settings=settings, weight_unit=unit
        )
        return prices(answer)["ground"]

    assert await ground("2", LB) == "4.00"
    assert await ground("0.9", KG) == "4.00"  # 1.984 lb
    assert await ground("0.91", KG) == "8.00"  # 2.006 lb
    assert await ground("4.5359237", KG) == "8.00"  # exactly 10 lb
    assert await ground("4.5359238", KG) == "20.00"
    assert await ground("500", LB) == "20.00"


async def test_non_shippable_lines_are_left_out(providers: Providers) -> None:
    us = address("US", "US-TX")
    heavy_download = line("d", weight="100", shippable=False, item_type="DIGITAL")

    mixed = await rates(providers, [line("a", weight="0.5"), heavy_download], us)
    assert prices(mixed)["economy"] == "3.50"  # only the shippable 0.5 kg

    nothing_ships = await rates(providers, [heavy_download], us)
    assert not nothing_ships.shipping_rates


async def test_tax_included_prices_use_the_same_amounts(providers: Providers) -> None:
    """Settings amounts are in the site's terms: with tax_included_in_prices the lines and the
    rates both include tax, so nothing is converted and the threshold compares gross prices."""
    us = address("US", "US-TX")
    gross_100 = [line("a", price="100.00")]

    included = await rates(providers, gross_100, us, tax_included=True)
    excluded = await rates(providers, gross_100, us, tax_included=False)

    assert prices(included) == prices(excluded)
    assert prices(included)["standard"] == "0.00"
    assert (
        prices(await rates(providers, [line("a", price="99.99")], us, tax_included=True))[
            "standard"
        ]
        == "5.00"
    )


async def test_amounts_round_half_even_to_the_request_currency(providers: Providers) -> None:
    settings = {"regions": [_region("all", ["*"], _flat("a", "4.50"), _flat("b", "5.50"))]}

    answer = await rates(
        providers, [line("a", price="1000")], address("JP"), settings=settings, currency="JPY"
    )

    assert prices(answer) == {"a": "4", "b": "6"}
    assert {rate.cost.currency for rate in answer.shipping_rates} == {"JPY"}


async def test_settings_in_another_currency_are_refused(providers: Providers) -> None:
    settings = {"currency": "EUR", "regions": [_region("de", ["DE"], _flat("a", "5.00"))]}

    error = await refused(rates(providers, [line("a")], address("DE"), settings=settings))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "CURRENCY_NOT_SUPPORTED"
    same = await rates(providers, [line("a")], address("DE"), settings=settings, currency="EUR")
    assert prices(same) == {"a": "5.00"}


async def test_health_probe_without_lines_succeeds(providers: Providers) -> None:
    answer = await rates(providers, [])
    assert not answer.shipping_rates


async def test_only_the_suite_may_call(providers: Providers) -> None:
    request = pb.GetShippingRatesRequest(weight_unit=KG, currency="USD")
    visitor = await refused(
        providers.shipping.GetShippingRates(request, metadata=providers.metadata(Role.VISITOR))
    )
    assert visitor.code() == grpc.StatusCode.PERMISSION_DENIED
    anonymous = await refused(providers.shipping.GetShippingRates(request))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED


def _region(region_id: str, countries: list[str], *rates: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": region_id,
        "name": region_id.upper(),
        "countries": countries,
        "rates": list(rates),
    }


def _flat(code: str, price: str) -> dict[str, Any]:
    return {"code": code, "title": code.title(), "type": "flat", "price": price}


def _pickup(code: str, city: str) -> dict[str, Any]:
    return {
        "code": code,
        "title": f"Pickup in {city}",
        "type": "pickup",
        "pickup": {"address": {"country": "XX", "city": city, "address_line": "1 Main St"}},
    }

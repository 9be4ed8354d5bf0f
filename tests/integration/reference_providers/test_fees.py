"""The reference additional-fees provider over real gRPC: the per-item handling fee by item type,
order-level fees by destination region, and their tax details."""

from __future__ import annotations

from typing import Any

import grpc

from ecom.common.v1 import address_pb2, line_item_pb2
from ecom.spi.additional_fees.v1 import additional_fees_provider_service_pb2 as pb
from tests.integration.reference_providers.kit import (
    Providers,
    address,
    error_reason,
    line,
    refused,
    struct,
)


async def fees(
    providers: Providers,
    lines: list[line_item_pb2.LineItem],
    destination: address_pb2.Address | None = None,
    *,
    settings: dict[str, Any] | None = None,
    currency: str = "USD",
) -> pb.CalculateAdditionalFeesResponse:
    request = pb.CalculateAdditionalFeesRequest(
        line_items=lines, currency=currency, subtotal="0", settings=struct(settings)
    )
    if destination is not None:
        request.shipping_address.CopyFrom(destination)
    response: pb.CalculateAdditionalFeesResponse = await providers.fees.CalculateAdditionalFees(
        request, metadata=providers.metadata()
    )
    return response


def by_code(response: pb.CalculateAdditionalFeesResponse) -> dict[str, pb.AdditionalFee]:
    return {fee.code: fee for fee in response.additional_fees}


async def test_default_handling_fee_per_physical_unit(providers: Providers) -> None:
    lines = [
        line("shirt", quantity=3),
        line("mug", quantity=2),
        line("ebook", quantity=4, shippable=False, item_type="DIGITAL"),
    ]

    answer = await fees(providers, lines, address("US", "US-TX"))

    assert answer.currency == "USD"
    assert list(by_code(answer)) == ["handling"]
    handling = by_code(answer)["handling"]
    assert handling.name == "Handling fee"
    assert handling.price == "2.50"  # 0.50 x 5 physical units
    assert list(handling.line_item_ids) == ["shirt", "mug"]
    assert handling.tax_details == pb.AdditionalFeeTaxDetails(taxable=True, tax_group_id="")


async def test_default_regional_fee_for_colorado_is_not_taxable(providers: Providers) -> None:
    answer = await fees(providers, [line("shirt")], address("US", "US-CO"))

    regional = by_code(answer)["co-retail-delivery-fee"]
    assert regional.name == "Retail delivery fee (Colorado)"
    assert regional.price == "0.29"
    assert not regional.line_item_ids  # the whole order
    assert regional.tax_details.taxable is False
    assert by_code(answer)["handling"].price == "0.50"


async def test_without_a_destination_no_regional_fee(providers: Providers) -> None:
    answer = await fees(providers, [line("shirt")])
    assert list(by_code(answer)) == ["handling"]


async def test_no_matching_item_no_handling_fee(providers: Providers) -> None:
    answer = await fees(
        providers,
        [line("gift", item_type="GIFT_CARD"), line("class", item_type="SERVICE")],
        address("US", "US-TX"),
    )
    assert not answer.additional_fees


SETTINGS: dict[str, Any] = {
    "handling_fee_per_item": {
        "code": "packing",
        "name": "Packing",
        "amount": "1.25",
        "per": "line",
        "item_types": ["gift_card", "subscription-box"],
        "taxable": True,
        "tax_group_id": "services",
    },
    "order_fees_by_region": [
        {
            "code": "eco-levy-de",
            "name": "Eco levy",
            "countries": ["DE"],
            "amount": "2.00",
            "taxable": True,
            "tax_group_id": "reduced",
        },
        {
            "code": "island-surcharge",
            "name": "Island surcharge",
            "subdivisions": ["DE-HH", "ES-CN"],
            "amount": "7.50",
            "taxable": False,
        },
        {"code": "everywhere", "name": "Service fee", "countries": ["*"], "amount": "0.99"},
    ],
}


async def test_configured_fees_per_line_by_type_and_every_matching_region(
    providers: Providers,
) -> None:
    lines = [
        line("card", quantity=3, item_type="GIFT_CARD", shippable=False),
        line("box", quantity=2, item_type="subscription-box"),
        line("shirt", quantity=5),
    ]

    hamburg = by_code(await fees(providers, lines, address("DE", "DE-HH"), settings=SETTINGS))

    packing = hamburg["packing"]
    assert (packing.name, packing.price) == ("Packing", "2.50")  # per line: 2 lines x 1.25
    assert list(packing.line_item_ids) == ["card", "box"]
    assert packing.tax_details == pb.AdditionalFeeTaxDetails(taxable=True, tax_group_id="services")
    # Every regional fee whose places name the destination applies.
    assert {code: fee.price for code, fee in hamburg.items() if code != "packing"} == {
        "eco-levy-de": "2.00",
        "island-surcharge": "7.50",
        "everywhere": "0.99",
    }
    assert hamburg["eco-levy-de"].tax_details == pb.AdditionalFeeTaxDetails(
        taxable=True, tax_group_id="reduced"
    )
    assert hamburg["island-surcharge"].tax_details.taxable is False
    assert hamburg["everywhere"].tax_details.taxable is True  # taxable unless said otherwise

    berlin = by_code(await fees(providers, lines, address("DE", "DE-BE"), settings=SETTINGS))
    assert set(berlin) == {"packing", "eco-levy-de", "everywhere"}
    france = by_code(await fees(providers, lines, address("FR"), settings=SETTINGS))
    assert set(france) == {"packing", "everywhere"}


async def test_amounts_round_half_even_to_the_currency(providers: Providers) -> None:
    three = await fees(providers, [line("a", quantity=3, price="1000")], currency="JPY")
    five = await fees(providers, [line("a", quantity=5, price="1000")], currency="JPY")

    assert three.currency == "JPY"
    assert by_code(three)["handling"].price == "2"  # 1.5 -> 2
    assert by_code(five)["handling"].price == "2"  # 2.5 -> 2


async def test_settings_in_another_currency_are_refused(providers: Providers) -> None:
    settings = {"currency": "EUR", "handling_fee_per_item": {"amount": "0.50"}}

    error = await refused(fees(providers, [line("a")], settings=settings))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "CURRENCY_NOT_SUPPORTED"
    answer = await fees(providers, [line("a")], settings=settings, currency="EUR")
    assert by_code(answer)["handling"].price == "0.50"


async def test_health_probe_without_lines_succeeds(providers: Providers) -> None:
    answer = await fees(providers, [], address("US", "US-CO"))
    assert answer.currency == "USD"
    assert not answer.additional_fees

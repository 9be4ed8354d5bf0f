"""The reference validations provider over real gRPC: quantity limits per item, the minimum order
value and blocked destinations, with ERROR and WARNING severities."""

from __future__ import annotations

from typing import Any

import grpc

from ecom.common.v1 import address_pb2, calculation_pb2, line_item_pb2, money_pb2, pricing_pb2
from ecom.spi.validations.v1 import validations_provider_service_pb2 as pb
from tests.integration.reference_providers.kit import (
    Providers,
    address,
    error_reason,
    line,
    refused,
    struct,
)

ERROR = calculation_pb2.VIOLATION_SEVERITY_ERROR
WARNING = calculation_pb2.VIOLATION_SEVERITY_WARNING


async def check(
    providers: Providers,
    lines: list[line_item_pb2.LineItem],
    destination: address_pb2.Address | None = None,
    *,
    settings: dict[str, Any] | None = None,
    subtotal: str = "",
    discount: str = "",
    currency: str = "USD",
    in_shipping_info: bool = False,
) -> list[tuple[int, str, str]]:
    """(severity, target, description) of each violation; target is a line id or "@area"."""
    request = pb.GetValidationViolationsRequest(
        source=pb.SOURCE_CHECKOUT,
        source_id="checkout-1",
        line_items=lines,
        currency=currency,
        settings=struct(settings),
        price_summary=pricing_pb2.PriceSummary(
            subtotal=money_pb2.Price(amount=subtotal), discount=money_pb2.Price(amount=discount)
        ),
    )
    if destination is not None:
        target = (
            request.shipping_info.shipping_destination
            if in_shipping_info
            else request.shipping_address
        )
        target.address.CopyFrom(destination)
    answer = await providers.validations.GetValidationViolations(
        request, metadata=providers.metadata()
    )
    return [
        (
            v.severity,
            v.target.line_item.id if v.target.HasField("line_item") else f"@{v.target.other.name}",
            v.description,
        )
        for v in answer.violations
    ]


def targets(found: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    return [(severity, target) for severity, target, _ in found]


async def test_defaults_allow_an_ordinary_order(providers: Providers) -> None:
    found = await check(providers, [line("a", quantity=10, price="2.00")], address("US", "US-NY"))
    assert found == []


async def test_default_max_ten_per_item_is_an_error(providers: Providers) -> None:
    found = await check(providers, [line("a", quantity=11, name="Mug")], address("US"))

    assert found == [(ERROR, "a", 'You can buy at most 10 of "Mug" per order (11 now).')]


async def test_quantities_add_up_over_the_lines_of_one_item(providers: Providers) -> None:
    small = line("small", quantity=6, catalog_item_id="shirt", name="Shirt")
    large = line("large", quantity=5, catalog_item_id="shirt", name="Shirt")
    other = line("mug", quantity=9, catalog_item_id="mug")

    found = await check(providers, [small, large, other])

    assert targets(found) == [(ERROR, "small"), (ERROR, "large")]
    assert "at most 10" in found[0][2] and "(11 now)" in found[0][2]


async def test_minimum_order_value_is_a_warning_by_default(providers: Providers) -> None:
    found = await check(providers, [line("a", price="4.99")])

    assert found == [
        (
            WARNING,
            "@general",
            "The minimum order value is $5.00 (after discounts, before shipping and tax); "
            "this order comes to $4.99.",
        )
    ]
    assert await check(providers, [line("a", price="5.00")]) == []


async def test_minimum_order_value_uses_the_price_summary_after_discounts(
    providers: Providers,
) -> None:
    lines = [line("a", price="20.00")]

    after_discount = await check(providers, lines, subtotal="20.00", discount="16.00")
    assert targets(after_discount) == [(WARNING, "@general")]
    assert "$4.00" in after_discount[0][2]

    settings = {"minimum_order_value": {"amount": "5.00", "basis": "subtotal", "severity": "error"}}
    before_discount = await check(
        providers, lines, settings=settings, subtotal="20.00", discount="16.00"
    )
    assert before_discount == []
    small = await check(providers, [line("a", price="3.00")], settings=settings)
    assert targets(small) == [(ERROR, "@general")]


async def test_blocked_destination_is_an_error(providers: Providers) -> None:
    found = await check(providers, [line("a")], address("AQ"))
    assert found == [
        (ERROR, "@shipping_destination", "We do not ship to AQ. Choose another shipping address.")
    ]
    # Blocked subdivisions, also when the destination comes in shipping_info only.
    outlying = await check(providers, [line("a")], address("US", "US-UM"), in_shipping_info=True)
    assert targets(outlying) == [(ERROR, "@shipping_destination")]
    # Nothing ships: the destination does not matter.
    digital = line("a", shippable=False, item_type="DIGITAL")
    assert await check(providers, [digital], address("AQ")) == []


SETTINGS: dict[str, Any] = {
    "per_item": {
        "default": {"min": 2, "max": 5, "severity": "ERROR"},
        "items": {
            # Fields override the default's one by one; null removes the default's value.
            "sticker": {"min": 10, "max": None, "severity": "WARNING"},
            "gift-card": {"max": None},
            "poster": {"min": None, "max": 1},
        },
    },
    "minimum_order_value": {
        "amount": "25.00",
        "severity": "ERROR",
        "message": "Orders start at 25 dollars.",
    },
    "blocked_destinations": {
        "countries": ["RU", "BY"],
        "subdivisions": ["US-HI"],
        "severity": "WARNING",
        "message": "Delivery to your area may be delayed.",
    },
}


async def test_configured_rules_with_their_severities(providers: Providers) -> None:
    lines = [
        line("one-shirt", quantity=1, catalog_item_id="shirt", price="30.00"),
        line("stickers", quantity=6, catalog_item_id="sticker", price="0.10"),
        line("cards", quantity=500, catalog_item_id="gift-card", price="1.00"),
        line("one-poster", quantity=1, catalog_item_id="poster", price="1.00"),
        line("more-posters", quantity=1, catalog_item_id="poster", price="1.00"),
        line("custom", quantity=7, catalog_item_id="", price="1.00"),  # a custom line item
    ]

    found = await check(providers, lines, address("US", "US-HI"), settings=SETTINGS)

    assert targets(found) == [
        (ERROR, "one-shirt"),  # below the default min of 2
        (ERROR, "one-poster"),  # 2 posters over two lines: over its own max of 1
        (ERROR, "more-posters"),
        (ERROR, "custom"),  # over the default max of 5, counted on its own
        (WARNING, "stickers"),  # below its own min of 10 (and no max)
        (WARNING, "@shipping_destination"),
    ]
    messages = {target: text for _, target, text in found}
    assert messages["@shipping_destination"] == "Delivery to your area may be delayed."
    assert "at least 2" in messages["one-shirt"]


async def test_minimum_order_message_and_error(providers: Providers) -> None:
    found = await check(
        providers, [line("a", quantity=2, price="10.00")], address("DE"), settings=SETTINGS
    )
    assert found == [(ERROR, "@general", "Orders start at 25 dollars.")]


async def test_at_most_100_violations_errors_first(providers: Providers) -> None:
    settings = {
        "per_item": {
            "default": {"max": 1, "severity": "WARNING"},
            "items": {"i-149": {"severity": "ERROR"}},  # the item's max is the default's
        },
        "minimum_order_value": {"amount": "1000000.00", "severity": "WARNING"},
    }
    lines = [line(f"l-{n}", quantity=2, catalog_item_id=f"i-{n}") for n in range(150)]

    found = await check(providers, lines, settings=settings)

    assert len(found) == 100
    assert found[0][:2] == (ERROR, "l-149")  # the last line's ERROR is kept, and first
    assert {severity for severity, _, _ in found[1:]} == {WARNING}


async def test_source_is_required(providers: Providers) -> None:
    request = pb.GetValidationViolationsRequest(currency="USD")
    error = await refused(
        providers.validations.GetValidationViolations(request, metadata=providers.metadata())
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_settings_in_another_currency_are_refused(providers: Providers) -> None:
    settings = {"currency": "EUR", "minimum_order_value": {"amount": "5.00"}}
    error = await refused(check(providers, [line("a")], settings=settings))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "CURRENCY_NOT_SUPPORTED"


async def test_health_probe_without_lines_succeeds(providers: Providers) -> None:
    assert await check(providers, [], address("AQ")) == []

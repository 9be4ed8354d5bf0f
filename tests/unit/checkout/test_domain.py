"""The checkout's pure rules: line merging and limits, buyers and owners, availability, links,
gift card codes."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import buyer_pb2, catalog_pb2, line_item_pb2
from services.checkout import domain
from services.checkout.discounts import obfuscate
from services.checkout.settings import CheckoutSettings
from services.checkout.urls import checkout_url, recovery_url
from services.platform.errors import FailedPrecondition, PermissionDenied
from services.platform.identity import Caller, Role


def reference(item: str, **options: Any) -> catalog_pb2.CatalogReference:
    ref = catalog_pb2.CatalogReference(catalog_item_id=item, app_id="shop")
    ref.options.update(options)
    return ref


def test_equal_references_merge_whatever_the_key_order_of_their_options() -> None:
    lines: list[line_item_pb2.LineItem] = []
    sources = domain.Sources()
    a = struct_pb2.Struct()
    a.update({"size": "M", "color": "red"})
    placed = domain.add_catalog_lines(
        lines,
        sources,
        [
            domain.NewCatalogLine(reference("tee", size="M", color="red"), 1, 0),
            domain.NewCatalogLine(reference("tee", color="red", size="M"), 2, 1),
            domain.NewCatalogLine(reference("tee", size="L"), 1, 2),
        ],
    )
    assert [line.quantity for line in lines] == [3, 1]
    assert placed[0] == placed[1] != placed[2]
    assert set(sources.lines) == {line.id for line in lines}


def test_quantities_are_bounded_per_line() -> None:
    lines: list[line_item_pb2.LineItem] = []
    with pytest.raises(FailedPrecondition) as caught:
        domain.add_catalog_lines(
            lines,
            domain.Sources(),
            [
                domain.NewCatalogLine(reference("tee"), 99_999, 0),
                domain.NewCatalogLine(reference("tee"), 2, 4),
            ],
        )
    assert caught.value.reason == "LINE_ITEM_QUANTITY_LIMIT_EXCEEDED"
    assert caught.value.metadata == {"line_item_index": "4"}
    with pytest.raises(FailedPrecondition) as caught:
        domain.check_line_limit(301)
    assert caught.value.reason == "LINE_ITEMS_LIMIT_EXCEEDED"


def test_custom_lines_never_merge() -> None:
    lines: list[line_item_pb2.LineItem] = []
    sources = domain.Sources()
    item = checkout_pb2.CustomLineItem(quantity=1, price="3")
    domain.add_custom_lines(lines, sources, [item, item])
    assert len(lines) == 2 and all(line.custom_line_item for line in lines)
    stored = checkout_pb2.CustomLineItem.FromString(sources.lines[lines[0].id].data)
    assert stored.id == lines[0].id


def test_sources_survive_json() -> None:
    sources = domain.Sources(requested_option=("ship", "std"), coupon_code="C")
    sources.lines["l1"] = domain.LineSource(False, b"\x00\x01", domain.FOUND, stale=True)
    assert domain.Sources.from_json(sources.to_json()) == sources


def test_buyers_create_only_for_themselves() -> None:
    visitor = Caller("s", "v-1", Role.VISITOR)
    assert domain.resolve_buyer(visitor, buyer_pb2.BuyerInfo(email="a@b.c")).visitor_id == "v-1"
    with pytest.raises(PermissionDenied):
        domain.resolve_buyer(visitor, buyer_pb2.BuyerInfo(member_id="m-9"))
    with pytest.raises(PermissionDenied):
        domain.resolve_buyer(visitor, buyer_pb2.BuyerInfo(contact_id="c"))
    admin = Caller("s", "admin-1", Role.ADMIN)
    assert domain.resolve_buyer(admin, buyer_pb2.BuyerInfo(member_id="m-9")).member_id == "m-9"
    assert domain.resolve_buyer(admin, buyer_pb2.BuyerInfo()).user_id == "admin-1"


def test_owners_and_staff_reach_a_checkout() -> None:
    domain.authorize(Caller("s", "v-1", Role.VISITOR), "visitor", "v-1")
    domain.authorize(Caller("s", "svc", Role.SERVICE), "member", "m-1")
    with pytest.raises(PermissionDenied):
        domain.authorize(Caller("s", "v-1", Role.MEMBER), "visitor", "v-1")


@pytest.mark.parametrize(
    ("available", "status"),
    [
        (None, catalog_pb2.AVAILABILITY_STATUS_AVAILABLE),
        (0, catalog_pb2.AVAILABILITY_STATUS_NOT_AVAILABLE),
        (2, catalog_pb2.AVAILABILITY_STATUS_PARTIALLY_AVAILABLE),
        (3, catalog_pb2.AVAILABILITY_STATUS_AVAILABLE),
    ],
)
def test_availability_follows_the_stock(available: int | None, status: int) -> None:
    assert domain.availability(3, available).status == status


def test_links() -> None:
    settings = CheckoutSettings(
        url_template="https://shop.example/checkout?checkoutId={checkout_id}",
        recovery_url_template="https://shop.example/back/{checkout_id}?t={token}",
    )
    checkout = checkout_pb2.Checkout(id="c 1")
    assert checkout_url(checkout, settings) == "https://shop.example/checkout?checkoutId=c%201"
    assert recovery_url(checkout, settings, "tok") == "https://shop.example/back/c%201?t=tok"
    plain = CheckoutSettings(url_template="https://shop.example/checkout?checkoutId={checkout_id}")
    assert recovery_url(checkout, plain, "tok").endswith("checkoutId=c%201&recoveryToken=tok")
    assert recovery_url(checkout, plain, None).endswith("checkoutId=c%201")
    checkout.override_checkout_url = "https://pay.example/x"
    assert checkout_url(checkout, CheckoutSettings()) == "https://pay.example/x"
    with pytest.raises(FailedPrecondition):
        recovery_url(checkout_pb2.Checkout(id="c"), CheckoutSettings(), None)


def test_gift_card_codes_are_obfuscated_but_the_last_four() -> None:
    assert obfuscate("GIFT-0000-1234") == "****-****-1234"
    assert obfuscate("abc") == "abc"


def test_prices_are_converted_and_formatted_for_the_buyer() -> None:
    from decimal import Decimal

    from services.checkout.money import Presenter

    euros = Presenter("USD", locale="de", conversion_currency="EUR", rate=Decimal("0.9"))
    price = euros.price(Decimal("10.005"))
    assert (price.amount, price.converted_amount) == ("10.00", "9.00")
    assert price.formatted_amount == "10,00 $"
    assert price.formatted_converted_amount == "9,00 €"
    plain = Presenter("USD", locale="en").price(Decimal("0.125"), exact=True)
    assert (plain.amount, plain.converted_amount, plain.formatted_converted_amount) == (
        "0.125",
        "0.125",
        "$0.12",
    )

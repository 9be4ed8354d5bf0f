"""UpdateCheckout's field mask and CreateCheckout's checkout_info, applied to a draft."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import address_pb2, buyer_pb2
from services.checkout.domain import Sources
from services.checkout.inputs import apply_paths, set_paths
from services.platform.errors import InvalidArgument, PermissionDenied
from services.platform.identity import Caller, Role
from services.platform.sites import SiteSettings

SITE = SiteSettings("USD", "en", "KG", False, None, {"EUR": Decimal("0.9")})
VISITOR = Caller("s", "v", Role.VISITOR)
ADMIN = Caller("s", "a", Role.ADMIN)


def draft() -> checkout_pb2.Checkout:
    checkout = checkout_pb2.Checkout(
        id="c", buyer_info=buyer_pb2.BuyerInfo(visitor_id="v", email="old@example.com")
    )
    checkout.billing_info.address.CopyFrom(address_pb2.Address(country="DE", city="Berlin"))
    checkout.billing_info.contact_details.first_name = "Ada"
    return checkout


def test_a_sub_path_changes_only_that_field_and_unset_clears() -> None:
    target = draft()
    given = checkout_pb2.Checkout(
        billing_info=address_pb2.AddressWithContact(address=address_pb2.Address(country="FR"))
    )
    apply_paths(VISITOR, target, Sources(), given, ["billing_info.address.country"], SITE)
    assert target.billing_info.address.country == "FR"
    assert target.billing_info.address.city == "Berlin"
    apply_paths(VISITOR, target, Sources(), given, ["billing_info.contact_details"], SITE)
    assert not target.billing_info.HasField("contact_details")


def test_the_buyer_id_never_changes() -> None:
    target = draft()
    given = checkout_pb2.Checkout(buyer_info=buyer_pb2.BuyerInfo(member_id="x", email="n@e.co"))
    apply_paths(VISITOR, target, Sources(), given, ["buyer_info"], SITE)
    assert (target.buyer_info.visitor_id, target.buyer_info.email) == ("v", "n@e.co")


def test_the_email_cannot_be_cleared() -> None:
    with pytest.raises(InvalidArgument) as caught:
        apply_paths(
            VISITOR, draft(), Sources(), checkout_pb2.Checkout(), ["buyer_info.email"], SITE
        )
    assert caught.value.reason == "BUYER_EMAIL_CANNOT_BE_REMOVED"
    assert isinstance(caught.value, InvalidArgument)


def test_paths_are_checked_and_admin_paths_are_for_staff() -> None:
    with pytest.raises(InvalidArgument):
        apply_paths(VISITOR, draft(), Sources(), checkout_pb2.Checkout(), ["revision"], SITE)
    with pytest.raises(InvalidArgument):
        apply_paths(VISITOR, draft(), Sources(), checkout_pb2.Checkout(), ["billing_info.x"], SITE)
    with pytest.raises(PermissionDenied):
        apply_paths(
            VISITOR, draft(), Sources(), checkout_pb2.Checkout(), ["merchant_discounts"], SITE
        )
    apply_paths(ADMIN, draft(), Sources(), checkout_pb2.Checkout(), ["merchant_discounts"], SITE)


def test_values_are_checked() -> None:
    given = checkout_pb2.Checkout(conversion_currency="JPY", buyer_language="German")
    with pytest.raises(InvalidArgument) as caught:
        apply_paths(
            ADMIN, draft(), Sources(), given, ["conversion_currency", "buyer_language"], SITE
        )
    assert {v.field for v in caught.value.violations} == {
        "checkout.conversion_currency",
        "checkout.buyer_language",
    }


def test_the_selected_option_is_a_request() -> None:
    sources = Sources()
    given = checkout_pb2.Checkout()
    selected = given.shipping_info.selected_carrier_service_option
    selected.carrier_id, selected.code = "ship", "express"
    path = "shipping_info.selected_carrier_service_option"
    apply_paths(VISITOR, draft(), sources, given, [path], SITE)
    assert sources.requested_option == ("ship", "express")
    apply_paths(VISITOR, draft(), sources, checkout_pb2.Checkout(), [path], SITE)
    assert sources.requested_option is None


def test_an_empty_mask_means_every_set_field() -> None:
    given = checkout_pb2.Checkout(buyer_note="hi", buyer_info=buyer_pb2.BuyerInfo(email="a@b.co"))
    assert set_paths(given) == ["buyer_info.email", "buyer_note"]

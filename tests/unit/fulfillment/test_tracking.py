"""Carriers and tracking links as ecom.fulfillment.v1.TrackingInfo documents them."""

from __future__ import annotations

import pytest

from services.fulfillment import tracking
from services.fulfillment.tracking import Tracking
from services.platform.errors import InvalidArgument, Violations


@pytest.mark.parametrize(
    ("given", "stored", "link"),
    [
        ("fedex", "fedex", "https://www.fedex.com/fedextrack/?trknbr=1Z%2F9%209"),
        ("FedEx", "fedex", "https://www.fedex.com/fedextrack/?trknbr=1Z%2F9%209"),
        ("UPS", "ups", "https://www.ups.com/track?tracknum=1Z%2F9%209"),
        ("usps", "usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=1Z%2F9%209"),
        (
            "Dhl",
            "dhl",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
            "?submit=1&tracking-id=1Z%2F9%209",
        ),
        (
            "CANADAPOST",
            "canadaPost",
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=1Z%2F9%209",
        ),
    ],
)
def test_known_carriers_are_stored_in_their_spelling_with_the_encoded_number_linked(
    given: str, stored: str, link: str
) -> None:
    normalized = tracking.normalize(Tracking(tracking_number="1Z/9 9", shipping_provider=given))
    assert normalized == Tracking("1Z/9 9", stored, link)


def test_a_custom_carrier_is_kept_as_given_without_a_link() -> None:
    custom = Tracking(tracking_number="A1", shipping_provider="My Courier")
    assert tracking.normalize(custom) == custom


def test_a_given_link_is_kept_and_no_number_means_no_link() -> None:
    given = Tracking("A1", "ups", "https://example.com/t/A1")
    assert tracking.normalize(given) == given
    assert tracking.normalize(Tracking(shipping_provider="ups")).tracking_link == ""


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (Tracking(tracking_number="x" * 101), "t.tracking_number"),
        (Tracking(shipping_provider="x" * 101), "t.shipping_provider"),
        (Tracking(tracking_link="https://e.com/" + "x" * 2000), "t.tracking_link"),
        (Tracking(tracking_link="ftp://e.com/x"), "t.tracking_link"),
        (Tracking(tracking_link="/relative/path"), "t.tracking_link"),
        (Tracking(tracking_link="https://"), "t.tracking_link"),
    ],
)
def test_limits_and_link_shape_are_checked(value: Tracking, field: str) -> None:
    violations = Violations()
    tracking.check(value, "t", violations)
    with pytest.raises(InvalidArgument) as caught:
        violations.raise_if_any()
    assert [v.field for v in caught.value.violations] == [field]


def test_values_at_the_limits_pass() -> None:
    violations = Violations()
    tracking.check(
        Tracking("x" * 100, "y" * 100, "http://e.com/" + "z" * (2000 - 13)), "t", violations
    )
    assert not violations

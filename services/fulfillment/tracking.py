"""Carriers and tracking links (rules of ecom.fulfillment.v1.TrackingInfo), in plain Python."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

from services.platform.errors import Violations

MAX_TRACKING_NUMBER = 100
MAX_SHIPPING_PROVIDER = 100
MAX_TRACKING_LINK = 2000

#: The known carriers, by their case-folded name, in the spelling the contract stores.
KNOWN_CARRIERS: dict[str, str] = {
    name.casefold(): name for name in ("fedex", "ups", "usps", "dhl", "canadaPost")
}

#: Tracking-page templates of the known carriers; `{n}` is the URL-encoded tracking number.
LINK_TEMPLATES: dict[str, str] = {
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "ups": "https://www.ups.com/track?tracknum={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={n}",
    "canadaPost": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={n}",
}


@dataclass(frozen=True)
class Tracking:
    tracking_number: str = ""
    shipping_provider: str = ""
    tracking_link: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.tracking_number or self.shipping_provider or self.tracking_link)


def canonical_carrier(shipping_provider: str) -> str:
    """A known carrier in its stored spelling; any other name as given."""
    return KNOWN_CARRIERS.get(shipping_provider.strip().casefold(), shipping_provider)


def carrier_link(shipping_provider: str, tracking_number: str) -> str:
    """The carrier's tracking page for the number; empty for custom carriers or no number."""
    template = LINK_TEMPLATES.get(canonical_carrier(shipping_provider))
    if template is None or not tracking_number:
        return ""
    return template.replace("{n}", quote(tracking_number, safe=""))


def normalize(tracking: Tracking) -> Tracking:
    """Known carriers in their stored spelling, and an empty link filled where one is known."""
    carrier = canonical_carrier(tracking.shipping_provider)
    link = tracking.tracking_link or carrier_link(carrier, tracking.tracking_number)
    return replace(tracking, shipping_provider=carrier, tracking_link=link)


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check(tracking: Tracking, prefix: str, violations: Violations) -> None:
    """Add a violation per field of `tracking` outside its limits."""
    if len(tracking.tracking_number) > MAX_TRACKING_NUMBER:
        violations.add(f"{prefix}.tracking_number", f"at most {MAX_TRACKING_NUMBER} characters")
    if len(tracking.shipping_provider) > MAX_SHIPPING_PROVIDER:
        violations.add(f"{prefix}.shipping_provider", f"at most {MAX_SHIPPING_PROVIDER} characters")
    link = tracking.tracking_link
    if len(link) > MAX_TRACKING_LINK:
        violations.add(f"{prefix}.tracking_link", f"at most {MAX_TRACKING_LINK} characters")
    elif link and not is_http_url(link):
        violations.add(f"{prefix}.tracking_link", "must be an absolute http(s) URL")

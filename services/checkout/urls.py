"""Checkout and recovery links: templates with `{checkout_id}` (and `{token}`) filled in."""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from ecom.checkout.v1 import checkout_pb2
from services.checkout.settings import CheckoutSettings
from services.platform.errors import FailedPrecondition

CHECKOUT_URL_NOT_CONFIGURED = "CHECKOUT_URL_NOT_CONFIGURED"


def _fill(template: str, checkout_id: str, token: str | None = None) -> str:
    url = template.replace("{checkout_id}", quote(checkout_id, safe=""))
    if token is not None:
        url = url.replace("{token}", quote(token, safe=""))
    return url


def checkout_url(checkout: checkout_pb2.Checkout, settings: CheckoutSettings) -> str | None:
    """The override URL, or the site's checkout page for this checkout; None when neither."""
    if checkout.override_checkout_url:
        return checkout.override_checkout_url
    if settings.url_template:
        return _fill(settings.url_template, checkout.id)
    return None


def require_checkout_url(checkout: checkout_pb2.Checkout, settings: CheckoutSettings) -> str:
    url = checkout_url(checkout, settings)
    if url is None:
        raise FailedPrecondition(
            CHECKOUT_URL_NOT_CONFIGURED,
            "the checkout has no override URL and the site has no checkout URL template",
        )
    return url


def recovery_url(
    checkout: checkout_pb2.Checkout, settings: CheckoutSettings, token: str | None
) -> str:
    """The link of a reminder: the override URL, else the recovery template, else the checkout
    template; `{token}` replaced, or the token appended as `recoveryToken` when the base has no
    `{token}`. Members and back-office buyers get no token (they sign in)."""
    base = checkout.override_checkout_url or settings.recovery_url_template or settings.url_template
    if not base:
        raise FailedPrecondition(
            CHECKOUT_URL_NOT_CONFIGURED,
            "the checkout has no override URL and the site has no checkout or recovery URL "
            "template",
        )
    if "{token}" in base:
        return _fill(base, checkout.id, token or "")
    url = _fill(base, checkout.id)
    if token is None:
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    query += urlencode({"recoveryToken": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

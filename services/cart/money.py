"""Amounts as the cart shows them: `ecom.common.v1.Price` in the cart's currency, converted into
its conversion currency, formatted in the buyer's language. Arithmetic and rounding are the
pricing engine's (`services.pricing`); this module only presents its results."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from ecom.common.v1 import money_pb2
from services.cart.domain import Cart
from services.platform.sites import SiteSettings
from services.pricing import format_amount, quantize, to_wire


@lru_cache(maxsize=8192)
def _shown(amount: Decimal, currency: str, locale: str, exact: bool) -> tuple[str, str]:
    """(wire string, display string): a cart shows the same few amounts over and over (unit
    prices, zeros), and formatting is the costliest part of rendering one."""
    return to_wire(amount, currency, keep_precision=exact), format_amount(amount, currency, locale)


class Presenter:
    """Builds Prices for one cart."""

    def __init__(self, cart: Cart, settings: SiteSettings) -> None:
        self.currency = cart.currency
        self.locale = cart.buyer_language or cart.site_language
        self.target = self.currency
        self.rate: Decimal | None = None
        conversion = cart.conversion_currency
        rate = settings.exchange_rates.get(conversion) if conversion else None
        if conversion and conversion != self.currency and rate is not None:
            self.target = conversion
            self.rate = rate

    @property
    def key(self) -> tuple[str, str, str, Decimal | None]:
        """Everything a price shown by this presenter depends on, besides the amount."""
        return (self.currency, self.locale, self.target, self.rate)

    def price(self, amount: Decimal, *, exact: bool = False) -> money_pb2.Price:
        """A computed amount (rounded to the minor unit), or with `exact` a unit price echoed
        as the catalog gave it (sub-unit digits kept)."""
        wire, shown = _shown(amount, self.currency, self.locale, exact)
        if self.rate is None:
            return money_pb2.Price(
                amount=wire,
                converted_amount=wire,
                formatted_amount=shown,
                formatted_converted_amount=shown,
            )
        converted = quantize(amount * self.rate, self.target)
        converted_wire, converted_shown = _shown(converted, self.target, self.locale, False)
        return money_pb2.Price(
            amount=wire,
            converted_amount=converted_wire,
            formatted_amount=shown,
            formatted_converted_amount=converted_shown,
        )

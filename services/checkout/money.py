"""Amounts as a checkout shows them: `ecom.common.v1.Price` in the checkout's currency, converted
into its conversion currency and formatted in the buyer's language. Arithmetic and rounding are
the pricing engine's (`services.pricing`); this module only presents its results."""

from __future__ import annotations

from decimal import Decimal

from ecom.common.v1 import money_pb2
from services.pricing import format_amount, quantize, to_wire

ZERO = Decimal(0)


class Presenter:
    """Builds Prices for one checkout. A calculation shows the same few amounts many times
    (zero above all), so each distinct one is rounded and formatted once."""

    def __init__(
        self,
        currency: str,
        *,
        locale: str,
        conversion_currency: str = "",
        rate: Decimal | None = None,
    ) -> None:
        self.currency = currency
        self.locale = locale or "en"
        self.target = currency
        self.rate: Decimal | None = None
        if conversion_currency and conversion_currency != currency and rate is not None:
            self.target = conversion_currency
            self.rate = rate
        #: (amount, exact) -> the Price's four strings. Equal Decimals ("0", "0.00") have equal
        #: keys and equal strings: every field is written from the amount rounded or normalized.
        self._shown: dict[tuple[Decimal, bool], tuple[str, str, str, str]] = {}

    def price(self, amount: Decimal, *, exact: bool = False) -> money_pb2.Price:
        """A computed amount (rounded to the minor unit), or with `exact` a unit price echoed
        as given (sub-unit digits kept)."""
        if not (isinstance(amount, Decimal) and amount.is_finite()):
            return self._price(amount, exact)  # refused there, as the engine would
        key = (amount, exact)
        shown = self._shown.get(key)
        if shown is None:
            made = self._price(amount, exact)
            shown = self._shown[key] = (
                made.amount,
                made.converted_amount,
                made.formatted_amount,
                made.formatted_converted_amount,
            )
            return made
        return money_pb2.Price(
            amount=shown[0],
            converted_amount=shown[1],
            formatted_amount=shown[2],
            formatted_converted_amount=shown[3],
        )

    def _price(self, amount: Decimal, exact: bool) -> money_pb2.Price:
        wire = to_wire(amount, self.currency, keep_precision=exact)
        formatted = format_amount(amount, self.currency, self.locale)
        if self.rate is None:
            # No conversion: the converted fields repeat the amount (formatted once).
            return money_pb2.Price(
                amount=wire,
                converted_amount=wire,
                formatted_amount=formatted,
                formatted_converted_amount=formatted,
            )
        converted = quantize(amount * self.rate, self.target)
        return money_pb2.Price(
            amount=wire,
            converted_amount=to_wire(converted, self.target),
            formatted_amount=formatted,
            formatted_converted_amount=format_amount(converted, self.target, self.locale),
        )

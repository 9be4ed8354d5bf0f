"""The exceptions of the pricing engine.

All of them are `ValueError`s: each one means that a value handed to the engine is not one it can
price, and its message names the value and the problem. The services map them to
INVALID_ARGUMENT (for what a caller sent) or treat them as a bug (for what the suite built).
"""

from __future__ import annotations


class PricingError(ValueError):
    """Base class of every error the pricing package raises."""


class InvalidAmountError(PricingError):
    """A money amount is malformed, out of range, or has the wrong sign."""


class UnknownCurrencyError(PricingError):
    """A currency code is not in the ISO 4217 table of `services.pricing.currencies`."""


class InvalidTaxTableError(PricingError):
    """A tax table (or its dict / JSON configuration) is malformed."""


class InvalidPricingInputError(PricingError):
    """A `PricingInput` is inconsistent: duplicate ids, unknown line ids, bad quantities."""

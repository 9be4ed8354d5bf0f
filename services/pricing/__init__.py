"""The pricing engine: a pure library (no gRPC, no SQL, no I/O) used by cart and checkout.

    from services.pricing import calculate, PricingInput, LineInput, parse_amount

See README.md beside this file for the rounding, allocation and tax decisions.
"""

from services.pricing.allocation import allocate
from services.pricing.currencies import MINOR_UNITS, SYMBOLS
from services.pricing.engine import calculate
from services.pricing.errors import (
    InvalidAmountError,
    InvalidPricingInputError,
    InvalidTaxTableError,
    PricingError,
    UnknownCurrencyError,
)
from services.pricing.model import (
    MAX_QUANTITY,
    AppliedDiscountResult,
    DiscountPart,
    DiscountSource,
    DiscountSourceKind,
    DiscountType,
    FeeInput,
    FeeResult,
    LineDiscount,
    LineInput,
    LineResult,
    OrderDiscount,
    PaymentOption,
    PriceSummary,
    PricingInput,
    PricingResult,
    ShippingDiscount,
    ShippingInput,
    ShippingResult,
    TaxBreakdown,
    TaxDetails,
    TaxSummary,
)
from services.pricing.money import (
    MAX_AMOUNT_LENGTH,
    PRICING_CONTEXT,
    check_amount,
    format_amount,
    minor_unit,
    minor_units,
    parse_amount,
    quantize,
    to_wire,
)
from services.pricing.tax import (
    AppliedRate,
    Jurisdiction,
    TaxAddress,
    TaxTable,
    tax_in_gross,
    tax_on_net,
)

__all__ = [
    "MAX_AMOUNT_LENGTH",
    "MAX_QUANTITY",
    "MINOR_UNITS",
    "PRICING_CONTEXT",
    "SYMBOLS",
    "AppliedDiscountResult",
    "AppliedRate",
    "DiscountPart",
    "DiscountSource",
    "DiscountSourceKind",
    "DiscountType",
    "FeeInput",
    "FeeResult",
    "InvalidAmountError",
    "InvalidPricingInputError",
    "InvalidTaxTableError",
    "Jurisdiction",
    "LineDiscount",
    "LineInput",
    "LineResult",
    "OrderDiscount",
    "PaymentOption",
    "PriceSummary",
    "PricingError",
    "PricingInput",
    "PricingResult",
    "ShippingDiscount",
    "ShippingInput",
    "ShippingResult",
    "TaxAddress",
    "TaxBreakdown",
    "TaxDetails",
    "TaxSummary",
    "TaxTable",
    "UnknownCurrencyError",
    "allocate",
    "calculate",
    "check_amount",
    "format_amount",
    "minor_unit",
    "minor_units",
    "parse_amount",
    "quantize",
    "tax_in_gross",
    "tax_on_net",
    "to_wire",
]

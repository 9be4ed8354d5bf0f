"""Checks a `PricingInput` before the engine touches it, so bad input fails loudly and early.

The engine prices what it is given; it does not guess. Unknown currencies, duplicate ids,
discounts or fees naming lines that are not in the input, quantities outside 1..100000, and
amounts that are not finite non-negative Decimals are errors (`PricingError` subclasses), not
silently skipped: they mean the calling service built the input wrongly (it drops lines the
catalog does not know, and their ids from merchant discounts, before pricing).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from services.pricing.errors import InvalidPricingInputError
from services.pricing.model import (
    MAX_QUANTITY,
    DiscountSource,
    DiscountSourceKind,
    FeeInput,
    LineInput,
    PaymentOption,
    PricingInput,
    ShippingInput,
)
from services.pricing.money import check_amount, minor_units
from services.pricing.tax import TaxAddress, TaxTable


def validate_input(data: PricingInput) -> None:
    """Raise a `PricingError` naming the first problem of `data`; return None when it is sound."""
    if not isinstance(data, PricingInput):
        raise InvalidPricingInputError(f"expected a PricingInput, got {type(data).__name__}")
    minor_units(data.currency)
    _check_bool(data.tax_included_in_prices, "tax_included_in_prices")
    line_ids = _check_lines(data.lines)
    for discount in data.line_discounts:
        what = f"line discount of {_describe(discount.source)}"
        _check_source(discount.source)
        _check_known(discount.line_id, line_ids, what)
        check_amount(discount.amount, f"amount of {what}")
    for order_discount in data.order_discounts:
        what = f"order discount of {_describe(order_discount.source)}"
        _check_source(order_discount.source)
        check_amount(order_discount.amount, f"amount of {what}")
        _check_id_list(order_discount.line_ids, line_ids, what)
    if data.shipping is not None:
        _check_shipping(data.shipping)
    _check_fees(data.fees, line_ids)
    if data.tax_address is not None and not isinstance(data.tax_address, TaxAddress):
        raise InvalidPricingInputError("tax_address must be a TaxAddress")
    if data.tax_table is not None and not isinstance(data.tax_table, TaxTable):
        raise InvalidPricingInputError("tax_table must be a TaxTable")


def _check_lines(lines: Iterable[LineInput]) -> set[str]:
    seen: set[str] = set()
    for line in lines:
        if not isinstance(line, LineInput):
            raise InvalidPricingInputError(f"lines must be LineInput, got {type(line).__name__}")
        _check_id(line.id, "line id")
        if line.id in seen:
            raise InvalidPricingInputError(f"line id {line.id!r} is given twice")
        seen.add(line.id)
        what = f"line {line.id!r}"
        quantity = line.quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise InvalidPricingInputError(f"quantity of {what} must be an int")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidPricingInputError(
                f"quantity of {what} is {quantity}; it must be 1..{MAX_QUANTITY}"
            )
        check_amount(line.price, f"price of {what}")
        _check_optional_amount(line.full_price, f"full_price of {what}")
        _check_optional_amount(line.price_before_discounts, f"price_before_discounts of {what}")
        _check_optional_amount(line.deposit_amount, f"deposit_amount of {what}")
        _check_bool(line.taxable, f"taxable of {what}")
        _check_optional_str(line.tax_group, f"tax_group of {what}")
        if not isinstance(line.payment_option, PaymentOption):
            raise InvalidPricingInputError(f"payment_option of {what} must be a PaymentOption")
    return seen


def _check_shipping(shipping: ShippingInput) -> None:
    if not isinstance(shipping, ShippingInput):
        raise InvalidPricingInputError("shipping must be a ShippingInput")
    check_amount(shipping.price, "shipping price")
    for discount in shipping.discounts:
        _check_source(discount.source)
        _check_optional_amount(
            discount.amount, f"amount of shipping discount of {_describe(discount.source)}"
        )


def _check_fees(fees: Iterable[FeeInput], line_ids: set[str]) -> None:
    seen: set[str] = set()
    for fee in fees:
        if not isinstance(fee, FeeInput):
            raise InvalidPricingInputError(f"fees must be FeeInput, got {type(fee).__name__}")
        _check_id(fee.id, "fee id")
        if fee.id in seen:
            raise InvalidPricingInputError(f"fee id {fee.id!r} is given twice")
        seen.add(fee.id)
        check_amount(fee.price, f"price of fee {fee.id!r}")
        _check_bool(fee.taxable, f"taxable of fee {fee.id!r}")
        _check_optional_str(fee.tax_group, f"tax_group of fee {fee.id!r}")
        _check_id_list(fee.line_ids, line_ids, f"fee {fee.id!r}")


def _check_source(source: DiscountSource) -> None:
    if not isinstance(source, DiscountSource) or not isinstance(source.kind, DiscountSourceKind):
        raise InvalidPricingInputError(f"discount source must be a DiscountSource: {source!r}")
    _check_id(source.id, "discount source id")


def _check_id_list(ids: Iterable[str], known: set[str], what: str) -> None:
    if isinstance(ids, str):
        raise InvalidPricingInputError(f"line_ids of {what} must be a sequence of ids, not a str")
    for line_id in ids:
        _check_known(line_id, known, what)


def _check_known(line_id: str, known: set[str], what: str) -> None:
    if line_id not in known:
        raise InvalidPricingInputError(f"{what} names line {line_id!r}, which is not in the input")


def _check_id(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidPricingInputError(f"{what} must be a non-empty string, not {value!r}")


def _check_optional_amount(value: Decimal | None, what: str) -> None:
    if value is not None:
        check_amount(value, what)


def _check_optional_str(value: object, what: str) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidPricingInputError(f"{what} must be a string or None")


def _check_bool(value: object, what: str) -> None:
    if not isinstance(value, bool):
        raise InvalidPricingInputError(f"{what} must be true or false, not {value!r}")


def _describe(source: object) -> str:
    if isinstance(source, DiscountSource):
        return f"{source.kind.value} {source.id!r}"
    return repr(source)

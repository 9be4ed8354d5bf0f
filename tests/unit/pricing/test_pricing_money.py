"""Money: the currency table, the wire format, half-even rounding and display."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing import (
    MAX_AMOUNT_LENGTH,
    MINOR_UNITS,
    InvalidAmountError,
    UnknownCurrencyError,
    check_amount,
    format_amount,
    minor_unit,
    minor_units,
    parse_amount,
    quantize,
    to_wire,
)

D = Decimal


# --------------------------------------------------------------------------- currency table


@pytest.mark.parametrize(
    ("currency", "places"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("XOF", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("IQD", 3),
        ("LYD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("JOD", 3),
        ("CLF", 4),
        ("UYW", 4),
        ("HUF", 2),
        ("MGA", 2),
        ("XCG", 2),
        ("ZWG", 2),
        ("SLE", 2),
        ("BGN", 2),  # withdrawn, kept for stored data
    ],
)
def test_minor_units(currency: str, places: int) -> None:
    assert minor_units(currency) == places
    assert minor_unit(currency) == D(1).scaleb(-places)


def test_table_is_complete_and_well_formed() -> None:
    # ISO 4217 list one has ~155 currencies with a minor unit; plus 6 withdrawn ones.
    assert len(MINOR_UNITS) >= 160
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in MINOR_UNITS)
    assert set(MINOR_UNITS.values()) == {0, 2, 3, 4}
    assert sorted(c for c, p in MINOR_UNITS.items() if p == 3) == [
        "BHD",
        "IQD",
        "JOD",
        "KWD",
        "LYD",
        "OMR",
        "TND",
    ]


@pytest.mark.parametrize("code", ["usd", "XAU", "XXX", "XTS", "ABC", "", "US", "USDX"])
def test_unknown_currency(code: str) -> None:
    with pytest.raises(UnknownCurrencyError, match="ISO 4217"):
        minor_units(code)
    assert issubclass(UnknownCurrencyError, ValueError)


# --------------------------------------------------------------------------- parse_amount


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10.50", D("10.50")),
        ("-3", D("-3")),
        ("0.125", D("0.125")),
        ("0", D("0")),
        ("-0", D("0")),
        ("007", D("7")),
        ("1" * 18, D("1" * 18)),
        ("0." + "1" * 28, D("0." + "1" * 28)),
    ],
)
def test_parse_amount_accepts_the_wire_format(text: str, value: Decimal) -> None:
    parsed = parse_amount(text)
    assert parsed == value
    assert str(parsed) == str(value)  # exactly as written, nothing rounded
    assert not parsed.is_signed() or parsed != 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        (" 1", "whitespace"),
        ("1 000", "whitespace"),
        ("1e3", "exponent"),
        ("1E-2", "exponent"),
        ("NaN", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("inf", "not a finite number"),
        ("+5", "'\\+' sign"),
        ("1,000.00", "separator"),
        ("10,50", "separator"),
        ("1_000", "separator"),
        ("1.2.3", "more than one"),
        ("5.", "both sides"),
        (".5", "both sides"),
        ("-", "not a decimal string"),
        ("abc", "not a decimal string"),
        ("١٢", "not a decimal string"),  # Arabic-Indic digits are not ASCII digits
        ("1\n", "whitespace"),
        ("1" * 19, "19 digits before"),
        ("0." + "1" * 29, "29 digits after"),
        ("1" * (MAX_AMOUNT_LENGTH + 1), "characters long"),
    ],
)
def test_parse_amount_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(InvalidAmountError, match=problem):
        parse_amount(text)


def test_parse_amount_rejects_non_strings_and_negatives_on_request() -> None:
    with pytest.raises(InvalidAmountError, match="not float"):
        parse_amount(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmountError, match="must not be negative"):
        parse_amount("-0.01", non_negative=True)
    assert parse_amount("-0", non_negative=True) == 0


_WIRE = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,28})?")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789-+.,eE nNaIif_", max_size=12) | st.text(max_size=8))
def test_parse_amount_accepts_exactly_the_wire_grammar(text: str) -> None:
    if _WIRE.fullmatch(text):
        assert parse_amount(text) == Decimal(text)
    else:
        with pytest.raises(InvalidAmountError):
            parse_amount(text)


# --------------------------------------------------------------------------- check_amount


def test_check_amount() -> None:
    assert check_amount(D("1.5"), "x") == D("1.5")
    assert str(check_amount(D("-0.00"), "x")) == "0.00"
    with pytest.raises(InvalidAmountError, match="price must be a Decimal, not float"):
        check_amount(1.5, "price")
    with pytest.raises(InvalidAmountError, match="finite"):
        check_amount(D("NaN"), "price")
    with pytest.raises(InvalidAmountError, match="negative"):
        check_amount(D("-1"), "price")
    assert check_amount(D("-1"), "price", non_negative=False) == D("-1")
    with pytest.raises(InvalidAmountError, match="too large"):
        check_amount(D("1e18"), "price")
    with pytest.raises(InvalidAmountError, match="decimals"):
        check_amount(D("1e-29"), "price")


# --------------------------------------------------------------------------- quantize / wire


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.505", "USD", "10.50"),  # half-even: ties go to the even cent
        ("10.515", "USD", "10.52"),
        ("10.5051", "USD", "10.51"),  # not a tie
        ("-10.505", "USD", "-10.50"),
        ("-0.001", "USD", "0.00"),  # never -0
        ("0.5", "JPY", "0"),
        ("1.5", "JPY", "2"),
        ("2.5", "JPY", "2"),
        ("1199.5", "JPY", "1200"),
        ("1.2345", "KWD", "1.234"),
        ("1.2355", "KWD", "1.236"),
        ("7", "KWD", "7.000"),
        ("0.12345", "CLF", "0.1234"),
    ],
)
def test_quantize_half_even(amount: str, currency: str, expected: str) -> None:
    rounded = quantize(D(amount), currency)
    assert str(rounded) == expected
    assert to_wire(D(amount), currency) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "USD", "0.125"),
        ("10.5", "USD", "10.50"),
        ("3.100", "USD", "3.10"),
        ("1200.0", "JPY", "1200"),
        ("1E+3", "JPY", "1000"),
        ("-0.000", "KWD", "0.000"),
        ("0.0001", "KWD", "0.0001"),
    ],
)
def test_to_wire_keep_precision(amount: str, currency: str, expected: str) -> None:
    assert to_wire(D(amount), currency, keep_precision=True) == expected


def test_quantize_rejects_non_finite() -> None:
    with pytest.raises(InvalidAmountError):
        quantize(D("NaN"), "USD")
    with pytest.raises(InvalidAmountError, match="too large"):
        quantize(D("1e100"), "USD")
    with pytest.raises(UnknownCurrencyError):
        quantize(D("1"), "XYZ")


_CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "CLF", "EUR"])
_AMOUNTS = st.decimals(
    min_value=-(10**15), max_value=10**15, places=6, allow_nan=False, allow_infinity=False
)


@settings(max_examples=150, deadline=None)
@given(_AMOUNTS, _CURRENCIES)
def test_rounding_drifts_at_most_half_a_minor_unit(amount: Decimal, currency: str) -> None:
    rounded = quantize(amount, currency)
    unit = minor_unit(currency)
    assert abs(rounded - amount) <= unit / 2
    assert rounded.as_tuple().exponent == -minor_units(currency)
    wire = to_wire(amount, currency)
    assert parse_amount(wire) == rounded
    assert to_wire(parse_amount(wire), currency) == wire  # canonical: a fixed point
    assert parse_amount(to_wire(amount, currency, keep_precision=True)) == amount


# --------------------------------------------------------------------------- format_amount


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("10.5", "USD", "en", "$10.50"),
        ("1200", "JPY", "en", "¥1,200"),
        ("10.5", "KWD", "en", "10.500 KWD"),
        ("-3", "USD", "en", "-$3.00"),
        ("1234567.891", "USD", "en-US", "$1,234,567.89"),
        ("0", "EUR", "en", "€0.00"),
        ("999.995", "GBP", "en", "£1,000.00"),
        ("1200.5", "EUR", "de", "1.200,50 €"),
        ("1200.5", "EUR", "de-AT", "1.200,50 €"),
        ("10.5", "KWD", "de", "10,500 KWD"),
        ("-1200.5", "EUR", "es", "-1.200,50 €"),
        ("1200.5", "EUR", "fr-CA", "1\u202f200,50 €"),
        ("10", "CHF", "en", "10.00 CHF"),
        ("10", "USD", "xx", "$10.00"),  # unknown language: English style
        ("1234", "CLF", "en", "1,234.0000 CLF"),
    ],
)
def test_format_amount(amount: str, currency: str, locale: str, expected: str) -> None:
    assert format_amount(D(amount), currency, locale) == expected

"""Money amounts: the wire format, rounding to a currency's minor unit, and display.

Amounts are `decimal.Decimal` everywhere, never floats. On the wire (docs/contracts.md) an amount
is a decimal string: an optional '-', digits, and an optional fraction after a '.' ("10.50", "-3",
"0.125"); no exponent, no '+', no spaces, no thousands separators, no NaN or Infinity.
`parse_amount` accepts exactly that, with bounded length, and says what is wrong otherwise.

Rounding is always half-even ("banker's rounding") to the currency's minor unit: it is unbiased,
so rounding many lines does not drift the sum in one direction, and it is what ISO 4217 money
libraries and most tax authorities accept. Arithmetic runs in `PRICING_CONTEXT` (80 significant
digits): with the bounds below every sum and product the engine forms is exact, and the one
division (tax inside a tax-included price) is rounded only once, at the minor unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from services.pricing.currencies import MINOR_UNITS, SYMBOLS
from services.pricing.errors import InvalidAmountError, UnknownCurrencyError

#: Most digits before the decimal point an amount may have (amounts stay below 10**18).
MAX_INTEGER_DIGITS = 18
#: Most digits after the decimal point an amount may have (room for catalog sub-unit prices and
#: for amounts a caller computed with Decimal's default 28-digit precision).
MAX_FRACTION_DIGITS = 28
#: Longest wire amount `parse_amount` accepts: sign, integer digits, point, fraction digits.
MAX_AMOUNT_LENGTH = 1 + MAX_INTEGER_DIGITS + 1 + MAX_FRACTION_DIGITS
#: Exclusive bound on the magnitude of an input amount.
MAX_AMOUNT = Decimal(10) ** MAX_INTEGER_DIGITS

#: The decimal context of every pricing computation: enough precision that sums and products of
#: bounded amounts, quantities (<= 100000) and rates (<= 1, <= 10 decimals) are exact; half-even
#: rounding; invalid operations, division by zero and overflow raise instead of producing NaN.
PRICING_CONTEXT = Context(
    prec=80,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

_WIRE_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_ZERO = Decimal(0)
#: Minor unit by number of decimal places (made once: every rounding needs one).
_UNITS = {places: Decimal(1).scaleb(-places) for places in set(MINOR_UNITS.values())}


def minor_units(currency: str) -> int:
    """The number of decimal places of `currency`'s minor unit (JPY 0, USD 2, KWD 3).

    Raises `UnknownCurrencyError` for a code that is not an ISO 4217 currency with a minor unit
    (codes are upper case: "usd" is unknown).
    """
    try:
        return MINOR_UNITS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrencyError(
            f"currency {_show(currency)} is not an ISO 4217 currency code with a minor unit"
        ) from None


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: Decimal("1") for JPY, "0.01" for USD, "0.001" for KWD."""
    return _UNITS[minor_units(currency)]


def parse_amount(text: str, *, non_negative: bool = False) -> Decimal:
    """Parse a wire amount ("10.50", "-3", "0.125") into a Decimal, exactly as written.

    Accepts only the format of docs/contracts.md: optional '-', 1 to `MAX_INTEGER_DIGITS` digits,
    optionally '.' and 1 to `MAX_FRACTION_DIGITS` digits. Anything else (exponents, '+', spaces,
    separators, NaN, Infinity, "5.", ".5", non-ASCII digits) raises `InvalidAmountError` whose
    message names the problem. With `non_negative`, negative amounts are refused too. "-0" parses
    as 0. The value is not rounded: use `quantize` for that.
    """
    if not isinstance(text, str):
        raise InvalidAmountError(f"amount must be a decimal string, not {type(text).__name__}")
    if len(text) > MAX_AMOUNT_LENGTH:
        raise InvalidAmountError(
            f"amount is {len(text)} characters long; at most {MAX_AMOUNT_LENGTH} are allowed"
        )
    if _WIRE_RE.fullmatch(text) is None:
        raise InvalidAmountError(_explain_malformed(text))
    integer, _, fraction = text.lstrip("-").partition(".")
    if len(integer) > MAX_INTEGER_DIGITS:
        raise InvalidAmountError(
            f"amount {_show(text)} has {len(integer)} digits before the decimal point; "
            f"at most {MAX_INTEGER_DIGITS} are allowed"
        )
    if len(fraction) > MAX_FRACTION_DIGITS:
        raise InvalidAmountError(
            f"amount {_show(text)} has {len(fraction)} digits after the decimal point; "
            f"at most {MAX_FRACTION_DIGITS} are allowed"
        )
    value = Decimal(text)
    if value.is_zero():
        return abs(value)
    if non_negative and value < 0:
        raise InvalidAmountError(f"amount {_show(text)} must not be negative")
    return value


def check_amount(value: object, what: str, *, non_negative: bool = True) -> Decimal:
    """Check an amount handed to the engine as a Decimal; return it (with -0 turned into 0).

    It must be a finite `Decimal` (not a float, int or string) below `MAX_AMOUNT` in magnitude
    with at most `MAX_FRACTION_DIGITS` decimals, and not negative unless `non_negative` is False.
    `what` names the value in the error ("line 'a' price").
    """
    if not isinstance(value, Decimal):
        raise InvalidAmountError(f"{what} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise InvalidAmountError(f"{what} must be a finite amount, not {value}")
    if value.is_zero():
        return abs(value)
    if non_negative and value < 0:
        raise InvalidAmountError(f"{what} must not be negative ({value})")
    if abs(value) >= MAX_AMOUNT:
        raise InvalidAmountError(f"{what} is too large ({value}); amounts stay below 10**18")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS:
        raise InvalidAmountError(
            f"{what} has more than {MAX_FRACTION_DIGITS} decimals ({value}); round it first"
        )
    return value


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round `amount` half-even to `currency`'s minor unit.

    "10.505" USD -> "10.50", "10.515" USD -> "10.52", "0.5" JPY -> "0", "1.5" JPY -> "2". The
    result always has exactly the minor unit's number of decimals and is never -0.
    """
    unit = minor_unit(currency)
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmountError(f"cannot round {amount!r}: not a finite Decimal")
    try:
        # The context is passed, not entered: `localcontext` costs more than the rounding.
        rounded = amount.quantize(unit, rounding=ROUND_HALF_EVEN, context=PRICING_CONTEXT)
    except InvalidOperation:
        raise InvalidAmountError(f"cannot round {amount}: too large") from None
    return abs(rounded) if rounded.is_zero() else rounded


def to_wire(amount: Decimal, currency: str, *, keep_precision: bool = False) -> str:
    """The canonical wire string of `amount` in `currency`: "10.50" USD, "1200" JPY, "0.125" KWD.

    By default the amount is rounded half-even to the minor unit and written with exactly that
    many decimals. With `keep_precision` (for echoing unit prices that have sub-unit digits, such
    as a catalog price of "0.125" USD) nothing is rounded: the amount is written with at least
    the minor unit's decimals and any further non-zero ones ("0.125", "10.50", "3.10").
    Never an exponent, never "-0".
    """
    if not keep_precision:
        return f"{quantize(amount, currency):f}"
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmountError(f"cannot write {amount!r}: not a finite Decimal")
    places = minor_units(currency)
    exact = amount.normalize(PRICING_CONTEXT) if not amount.is_zero() else _ZERO
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        exact = exact.quantize(minor_unit(currency), context=PRICING_CONTEXT)
    if exact.is_zero():
        exact = abs(exact)
    return f"{exact:f}"


@dataclass(frozen=True)
class _Style:
    group: str
    decimal: str
    symbol_first: bool


_EN = _Style(group=",", decimal=".", symbol_first=True)
_DE = _Style(group=".", decimal=",", symbol_first=False)
_FR = _Style(group="\u202f", decimal=",", symbol_first=False)
# The language subtag of the buyer's language picks a style; anything else is written as "en".
_STYLES = {"en": _EN, "de": _DE, "es": _DE, "it": _DE, "pt": _DE, "fr": _FR}


def format_amount(amount: Decimal, currency: str, locale: str = "en") -> str:
    """`amount` for display (Price.formatted_amount): "$10.50", "¥1,200", "10.500 KWD".

    The amount is rounded to the minor unit first. "Locale-ish": only the language subtag of
    `locale` (BCP 47, "de-AT" -> "de") is used, to choose one of three styles:
    - English (default, also for unknown languages): symbol before the number, ',' groups, '.'
      decimals: "$1,200.50", "-$3.00";
    - German, Spanish, Italian, Portuguese: '.' groups, ',' decimals, symbol after: "1.200,50 €";
    - French: narrow no-break space groups, ',' decimals, symbol after: "1 200,50 €".
    Currencies without a symbol in `SYMBOLS` are written with their code after the number in
    every style: "10.500 KWD", "10,500 KWD".
    """
    rounded = quantize(amount, currency)
    style = _STYLES.get(locale.split("-")[0].split("_")[0].lower(), _EN)
    integer, _, fraction = f"{abs(rounded):f}".partition(".")
    groups: list[str] = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    number = style.group.join(groups) + (style.decimal + fraction if fraction else "")
    sign = "-" if rounded < 0 else ""
    symbol = SYMBOLS.get(currency)
    if symbol is None:
        return f"{sign}{number} {currency}"
    if style.symbol_first:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {symbol}"


def _show(value: object) -> str:
    """A short repr for error messages (input can be long or hostile)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _explain_malformed(text: str) -> str:
    shown = _show(text)
    lowered = text.lower()
    if text == "":
        return "amount is empty"
    if any(ch.isspace() for ch in text):
        return f"amount {shown} contains whitespace"
    if lowered.lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        return f"amount {shown} is not a finite number"
    if "e" in lowered and any(ch.isdigit() for ch in text):
        return f"amount {shown} has an exponent; write plain digits ('1000', not '1e3')"
    if text.startswith("+"):
        return f"amount {shown} has a '+' sign; only '-' is allowed"
    if "," in text or "_" in text or "'" in text:
        return f"amount {shown} has a separator; use digits and one '.' only"
    if text.count(".") > 1:
        return f"amount {shown} has more than one '.'"
    if text.lstrip("-").startswith(".") or text.endswith("."):
        return f"amount {shown} needs digits on both sides of the '.'"
    return (
        f"amount {shown} is not a decimal string (optional '-', ASCII digits, optional '.' "
        "and digits)"
    )

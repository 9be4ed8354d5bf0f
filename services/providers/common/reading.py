"""Reading a provider's `settings` (a JSON object, as the registration stores it) into typed
values, collecting every problem with the path of the setting (`settings.regions[0].rates[1].price`)
so a merchant sees all of them at once.

Settings are strict: unknown keys are reported (a typo must not silently become a default), money
and weights are decimal strings as everywhere on the suite's wire ("5.00", never 5.0: a JSON number
is a float), counts are integers. No grpc here: the servicers hand in plain dicts.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from services.platform.errors import Violations
from services.pricing import InvalidAmountError, UnknownCurrencyError, minor_units, parse_amount

E = TypeVar("E", bound=enum.Enum)

ROOT = "settings"
#: Longest free text a setting may hold (titles, names, delivery times, messages).
MAX_TEXT = 500
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


class Severity(enum.IntEnum):
    """Numbers as in `ecom.common.v1.ViolationSeverity`."""

    WARNING = 1
    ERROR = 2


def child(path: str, key: str) -> str:
    """The path of `key` inside the object at `path`: `settings.regions`."""
    return f"{path}.{key}"


def item(path: str, index: int | str) -> str:
    """The path of a list element (`rates[1]`) or of a free map key (`items["sku-1"]`)."""
    return f"{path}[{index}]" if isinstance(index, int) else f'{path}["{index}"]'


class SettingsReader:
    """Typed access to a settings tree; problems go to `violations`, never raise.

    Every getter returns a usable value even after a problem (a default, an empty list), so the
    parser goes on and reports the other problems too; the caller raises at the end.
    """

    def __init__(self, violations: Violations | None = None) -> None:
        self.violations = violations if violations is not None else Violations()

    def problem(self, path: str, description: str) -> None:
        self.violations.add(path, description)

    # -- containers ------------------------------------------------------------------------

    def obj(self, value: Any, path: str, known: Collection[str]) -> Mapping[str, Any]:
        """`value` as an object with only `known` keys; required keys are the getters' job."""
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a JSON object, not {_json_type(value)}")
            return {}
        for key in sorted(set(value) - set(known)):
            self.problem(child(path, key), f"unknown setting (known here: {', '.join(known)})")
        return value

    def list(self, value: Any, path: str, *, max_items: int, min_items: int = 0) -> list[Any]:
        if value is None:
            value = []
        if not isinstance(value, list):
            self.problem(path, f"must be a JSON array, not {_json_type(value)}")
            return []
        if len(value) > max_items:
            self.problem(path, f"has {len(value)} entries; at most {max_items} are allowed")
            return value[:max_items]
        if len(value) < min_items:
            self.problem(path, f"needs at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
        return value

    # -- scalars ---------------------------------------------------------------------------

    def text(self, obj: Mapping[str, Any], path: str, key: str, *, required: bool = False) -> str:
        value = obj.get(key)
        where = child(path, key)
        if value is None:
            if required:
                self._require(obj, where, key)
            return ""
        if not isinstance(value, str):
            self.problem(where, f"must be a string, not {_json_type(value)}")
            return ""
        value = value.strip()
        if required and not value:
            self.problem(where, "must not be empty")
        if len(value) > MAX_TEXT:
            self.problem(where, f"is {len(value)} characters long; at most {MAX_TEXT} are allowed")
            return value[:MAX_TEXT]
        return value

    def code(self, obj: Mapping[str, Any], path: str, key: str, *, default: str = "") -> str:
        """An identifier (rate code, fee code, region id): 1..100 letters, digits, `._:-`."""
        value = self.text(obj, path, key, required=not default)
        if not value:
            return default
        if _CODE.fullmatch(value) is None:
            self.problem(
                child(path, key),
                f"{value!r} is not a code: 1..100 letters, digits, '.', '_', ':' or '-', "
                "starting with a letter or digit",
            )
        return value

    def flag(self, obj: Mapping[str, Any], path: str, key: str, *, default: bool) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(child(path, key), f"must be true or false, not {_json_type(value)}")
            return default
        return value

    def integer(
        self,
        obj: Mapping[str, Any],
        path: str,
        key: str,
        *,
        minimum: int,
        maximum: int,
    ) -> int | None:
        """A whole number in minimum..maximum; None when absent or null."""
        value = obj.get(key)
        if value is None:
            return None
        where = child(path, key)
        # JSON numbers arrive as floats from a protobuf Struct: 10.0 is the integer 10.
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, f"must be a whole number, not {_json_type(value)}")
            return None
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            self.problem(where, f"must be a whole number, not {value}")
            return None
        number = int(value)
        if not minimum <= number <= maximum:
            self.problem(where, f"must be between {minimum} and {maximum}, not {number}")
            return None
        return number

    def decimal(
        self, obj: Mapping[str, Any], path: str, key: str, *, required: bool = False
    ) -> Decimal | None:
        """A non-negative decimal string ("2.5"); None when absent (reported when required)."""
        value = obj.get(key)
        where = child(path, key)
        if value is None:
            if required:
                self._require(obj, where, key)
            return None
        if not isinstance(value, str):
            self.problem(
                where,
                f'must be a decimal string such as "2.50", not {_json_type(value)} '
                "(JSON numbers are floats and are not accepted for exact values)",
            )
            return None
        try:
            return parse_amount(value, non_negative=True)
        except InvalidAmountError as exc:
            self.problem(where, str(exc))
            return None

    def amount(
        self,
        obj: Mapping[str, Any],
        path: str,
        key: str,
        currency: str | None,
        *,
        required: bool = False,
    ) -> Decimal | None:
        """A money amount: a non-negative decimal string that, when the settings name their
        currency, has no more decimals than that currency's minor unit."""
        value = self.decimal(obj, path, key, required=required)
        if value is None or currency is None:
            return value
        exponent = value.as_tuple().exponent
        places = minor_units(currency)
        if isinstance(exponent, int) and -exponent > places:
            self.problem(
                child(path, key),
                f"{value} has more decimals than {currency} allows ({places})",
            )
        return value

    def currency(self, obj: Mapping[str, Any], path: str, key: str = "currency") -> str | None:
        """An ISO 4217 code with a minor unit; None when absent."""
        value = self.text(obj, path, key)
        if not value:
            return None
        try:
            minor_units(value)
        except UnknownCurrencyError as exc:
            self.problem(child(path, key), str(exc))
            return None
        return value

    def choice(
        self, obj: Mapping[str, Any], path: str, key: str, enum_type: type[E], *, default: E
    ) -> E:
        """One of `enum_type`'s members, in any letter case: by value for enums of strings
        ("weight_tiers"), by name otherwise ("ERROR", "KG")."""
        value = obj.get(key)
        if value is None:
            return default
        spelled = {_spelling(member): member for member in enum_type}
        if isinstance(value, str) and value.strip().lower() in spelled:
            return spelled[value.strip().lower()]
        names = ", ".join(
            name if isinstance(member.value, str) else name.upper()
            for name, member in spelled.items()
        )
        self.problem(child(path, key), f"must be one of {names}, not {value!r}")
        return default

    def severity(
        self, obj: Mapping[str, Any], path: str, *, default: Severity = Severity.ERROR
    ) -> Severity:
        return self.choice(obj, path, "severity", Severity, default=default)

    def _require(self, obj: Mapping[str, Any], where: str, key: str) -> None:
        if key in obj:  # present as JSON null
            self.problem(where, "is required and must not be null")
        else:
            self.problem(where, "is required")


def _spelling(member: enum.Enum) -> str:
    return member.value if isinstance(member.value, str) else member.name.lower()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value:g}" if isinstance(value, float) else f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__

"""Checks of caller input that several services share: catalog references and their options,
quantities, line ids, emails, notes, languages, currencies, URLs, addresses, decimal amounts and
merchant discounts.

Each check adds field violations to a `Violations` collector (so a request reports all its
problems at once) and returns what it could read; the caller raises once at the end. The limits
live here once, so a cart's values always pass the checkout's checks and the same bad input gets
the same answer from every service.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from google.protobuf import struct_pb2

from ecom.common.v1 import address_pb2, catalog_pb2, line_item_pb2, pricing_pb2
from services.platform.errors import PermissionDenied, Violations
from services.pricing import InvalidAmountError, parse_amount

if TYPE_CHECKING:  # sites.py checks site languages with `is_language_tag`
    from services.platform.sites import SiteSettings

MAX_LINES = 300
MAX_QUANTITY = 100_000
MAX_APP_ID_LENGTH = 100
MAX_ITEM_ID_LENGTH = 500
MAX_OPTIONS_BYTES = 8192
MAX_OPTIONS_DEPTH = 10
#: Line ids are UUIDs the services make; anything longer names no line.
MAX_LINE_ID = 100
MAX_NOTE = 1000
#: 64 (local part) + 1 + 255 (domain): the longest address mail systems accept. A contract may
#: name a shorter limit (the cart's protos say 250).
MAX_EMAIL = 320
MAX_URL = 1000
MAX_TEXT = 500
MAX_MERCHANT_DISCOUNTS = 50

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# IETF BCP 47 (what Wix's `language` fields hold): a 2-3 letter primary language subtag (ISO 639,
# so every ISO 639-1 code is a tag), then subtags such as a script, region or variant ("de-AT",
# "zh-Hant-TW"). Lower-case primary subtag, as the services store and compare it.
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def admin_only(what: str) -> PermissionDenied:
    """PERMISSION_DENIED for an input only admins and services may set, sent by a buyer."""
    return PermissionDenied("ADMIN_ONLY_FIELD", f"only admins and services may set {what}")


# --------------------------------------------------------------------------- catalog references


class MalformedOptions(ValueError):
    """An options Struct is not a JSON object we accept; the message says why."""


def _plain(value: struct_pb2.Value, depth: int) -> Any:
    if depth > MAX_OPTIONS_DEPTH:
        raise MalformedOptions(f"nested deeper than {MAX_OPTIONS_DEPTH} levels")
    kind = value.WhichOneof("kind")
    if kind is None:
        raise MalformedOptions("a value has no kind set")
    if kind == "null_value":
        return None
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise MalformedOptions("numbers must be finite")
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _plain_struct(value.struct_value, depth + 1)
    return [_plain(item, depth + 1) for item in value.list_value.values]


def _plain_struct(struct: struct_pb2.Struct, depth: int) -> dict[str, Any]:
    return {key: _plain(item, depth) for key, item in struct.fields.items()}


def canonical_options(options: struct_pb2.Struct) -> str:
    """The canonical JSON text of a catalog reference's `options` (sorted keys, no spaces; an
    unset Struct is "{}"), so that the same options in another key order compare equal. Raises
    MalformedOptions for a value that cannot be JSON (no kind, NaN, infinity), nesting deeper
    than MAX_OPTIONS_DEPTH or more than MAX_OPTIONS_BYTES of JSON."""
    text = json.dumps(
        _plain_struct(options, 1), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    if len(text.encode()) > MAX_OPTIONS_BYTES:
        raise MalformedOptions(f"at most {MAX_OPTIONS_BYTES} bytes as JSON")
    return text


def check_catalog_reference(
    violations: Violations, field: str, reference: catalog_pb2.CatalogReference
) -> str | None:
    """Check `field` (a CatalogReference): both ids present and not too long, options a JSON
    object we accept. Returns the canonical options, or None when anything is wrong."""
    problems = 0
    for name, value, limit in (
        ("catalog_item_id", reference.catalog_item_id, MAX_ITEM_ID_LENGTH),
        ("app_id", reference.app_id, MAX_APP_ID_LENGTH),
    ):
        if not value:
            violations.add(f"{field}.{name}", "required")
            problems += 1
        elif len(value) > limit:
            violations.add(f"{field}.{name}", f"at most {limit} characters")
            problems += 1
    try:
        options = canonical_options(reference.options)
    except MalformedOptions as exc:
        violations.add(f"{field}.options", f"malformed: {exc}")
        return None
    return None if problems else options


# --------------------------------------------------------------------------- lines


def check_quantity(violations: Violations, field: str, quantity: int, *, hint: str = "") -> bool:
    """1..MAX_QUANTITY; `hint` is appended to the description. True when it is."""
    if 1 <= quantity <= MAX_QUANTITY:
        return True
    violations.add(field, f"must be 1..{MAX_QUANTITY}{hint}")
    return False


def check_line_count(violations: Violations, field: str, count: int, *, required: bool) -> bool:
    """At least one line when `required`, at most MAX_LINES. False when there are too many."""
    if required and count == 0:
        violations.add(field, "at least one line item is required")
    if count > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line items")
        return False
    return True


def check_line_ids(violations: Violations, field: str, ids: Sequence[str]) -> list[str]:
    """1..MAX_LINES line ids, each 1..MAX_LINE_ID characters."""
    if not ids:
        violations.add(field, "at least one line item id is required")
    elif len(ids) > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line item ids")
    for index, line_id in enumerate(ids):
        if not line_id or len(line_id) > MAX_LINE_ID:
            violations.add(f"{field}[{index}]", f"must be 1..{MAX_LINE_ID} characters")
    return list(ids)


def check_quantity_updates(
    violations: Violations, field: str, updates: Sequence[line_item_pb2.LineItemQuantityUpdate]
) -> dict[str, int]:
    """1..MAX_LINES updates, each of a different line, to a quantity of 1..MAX_QUANTITY (0 does
    not remove a line: RemoveLineItems does). Returns line id -> quantity."""
    if not updates:
        violations.add(field, "at least one line item is required")
    elif len(updates) > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line items")
        return {}
    quantities: dict[str, int] = {}
    for index, update in enumerate(updates):
        at = f"{field}[{index}]"
        if not update.id or len(update.id) > MAX_LINE_ID:
            violations.add(f"{at}.id", f"must be 1..{MAX_LINE_ID} characters")
        elif update.id in quantities:
            violations.add(f"{at}.id", "the same line is given twice")
        check_quantity(
            violations,
            f"{at}.quantity",
            update.quantity,
            hint=" (remove lines with RemoveLineItems)",
        )
        quantities[update.id] = update.quantity
    return quantities


# --------------------------------------------------------------------------- text fields


def check_email(
    violations: Violations, field: str, email: str, *, max_length: int = MAX_EMAIL
) -> None:
    """Empty is fine (the caller says when an email is required)."""
    if email and (len(email) > max_length or not _EMAIL.fullmatch(email)):
        violations.add(field, f"must be an email address of at most {max_length} characters")


def check_note(violations: Violations, field: str, note: str) -> None:
    if len(note) > MAX_NOTE:
        violations.add(field, f"at most {MAX_NOTE} characters")


def check_length(violations: Violations, field: str, text: str, limit: int) -> None:
    if len(text) > limit:
        violations.add(field, f"at most {limit} characters")


def is_language_tag(text: str) -> bool:
    """Whether `text` is an IETF BCP 47 language tag as the services accept it ("de", "de-AT")."""
    return bool(_LANGUAGE.fullmatch(text))


def check_language(violations: Violations, field: str, language: str) -> None:
    if language and not is_language_tag(language):
        violations.add(field, "must be an IETF BCP 47 language tag such as 'de' or 'de-AT'")


def check_conversion_currency(
    violations: Violations, field: str, currency: str, settings: SiteSettings
) -> None:
    """Empty, the site's currency, or one the site has an exchange rate for."""
    if not currency:
        return
    if not _CURRENCY.fullmatch(currency):
        violations.add(field, "must be an ISO 4217 code such as 'EUR'")
    elif not settings.supports_conversion_to(currency):
        violations.add(field, f"the site does not support {currency}")


def check_url(violations: Violations, field: str, url: str) -> None:
    if url and (len(url) > MAX_URL or not _URL.fullmatch(url)):
        violations.add(field, f"must be an absolute http(s) URL of at most {MAX_URL} characters")


def check_address(violations: Violations, field: str, address: address_pb2.Address) -> None:
    """ISO-3166 codes when given, every text at most MAX_TEXT characters."""
    if address.country and not _COUNTRY.fullmatch(address.country):
        violations.add(f"{field}.country", "must be an ISO-3166-1 alpha-2 code such as 'US'")
    if address.subdivision and not (
        _SUBDIVISION.fullmatch(address.subdivision)
        and address.subdivision.startswith(f"{address.country}-")
    ):
        violations.add(
            f"{field}.subdivision", "must be an ISO-3166-2 code of the country, such as 'US-NY'"
        )
    for name in ("city", "postal_code", "address_line", "address_line_2"):
        check_length(violations, f"{field}.{name}", getattr(address, name), MAX_TEXT)
    for name in ("number", "name"):
        check_length(
            violations,
            f"{field}.street_address.{name}",
            getattr(address.street_address, name),
            MAX_TEXT,
        )


def check_address_with_contact(
    violations: Violations, field: str, info: address_pb2.AddressWithContact
) -> None:
    check_address(violations, f"{field}.address", info.address)
    details = info.contact_details
    for name in ("first_name", "last_name", "phone", "company", "vat_id"):
        check_length(
            violations, f"{field}.contact_details.{name}", getattr(details, name), MAX_TEXT
        )


# --------------------------------------------------------------------------- amounts


def check_amount(
    violations: Violations, field: str, text: str, *, required: bool = False
) -> Decimal | None:
    """A non-negative decimal string (the wire grammar of money). Empty: None, and a violation
    when `required`."""
    if not text:
        if required:
            violations.add(field, "required")
        return None
    try:
        return parse_amount(text, non_negative=True)
    except InvalidAmountError as exc:
        violations.add(field, str(exc))
        return None


def check_merchant_discount_count(
    violations: Violations, field: str, discounts: Sequence[pricing_pb2.MerchantDiscountInput]
) -> bool:
    if len(discounts) > MAX_MERCHANT_DISCOUNTS:
        violations.add(field, f"at most {MAX_MERCHANT_DISCOUNTS} merchant discounts")
        return False
    return True


def check_merchant_discount(
    violations: Violations, at: str, discount: pricing_pb2.MerchantDiscountInput
) -> Decimal:
    """A positive amount, a description of at most MAX_TEXT characters, no line named twice.
    Which lines it may name is the caller's rule. Returns the amount (0 when it is bad)."""
    amount = check_amount(violations, f"{at}.amount", discount.amount, required=True)
    if amount is not None and amount <= 0:
        violations.add(f"{at}.amount", "must be a positive decimal string")
    check_length(violations, f"{at}.description", discount.description, MAX_TEXT)
    if len(set(discount.line_item_ids)) != len(discount.line_item_ids):
        violations.add(f"{at}.line_item_ids", "a line is named twice")
    return amount if amount is not None and amount > 0 else Decimal(0)

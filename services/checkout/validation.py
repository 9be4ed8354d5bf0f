"""Request checks: every INVALID_ARGUMENT the checkout protos promise.

Each function adds field violations to a `Violations` collector, so a request reports all its
problems at once; the caller raises once at the end. Inputs only admins and services may set,
sent by a buyer, are PERMISSION_DENIED (`admin_only`), raised at once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from decimal import Decimal

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import address_pb2, catalog_pb2, line_item_pb2, pricing_pb2
from services.checkout.settings import SiteSettings
from services.platform.errors import PermissionDenied, Violations
from services.pricing import InvalidAmountError, parse_amount

MAX_LINES = 300
MAX_QUANTITY = 100_000
MAX_NOTE = 1000
MAX_EMAIL = 320
MAX_URL = 1000
MAX_TEXT = 500
MAX_ID = 200
MAX_CODE = 100
MAX_CUSTOM_FIELDS = 20
MAX_CUSTOM_FIELD_TITLE = 100
MAX_MERCHANT_DISCOUNTS = 50
MAX_DESCRIPTION_LINES = 20
MAX_PRODUCT_NAME = 200

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def admin_only(what: str) -> PermissionDenied:
    return PermissionDenied("ADMIN_ONLY_FIELD", f"only admins and services may set {what}")


def check_uuid(violations: Violations, field: str, value: str) -> None:
    if not value:
        violations.add(field, "required")
        return
    try:
        uuid.UUID(value)
    except ValueError:
        violations.add(field, "must be a UUID")


def check_id(violations: Violations, field: str, value: str) -> None:
    if not value:
        violations.add(field, "required")


# --------------------------------------------------------------------------- lines


def check_catalog_lines(
    violations: Violations, items: Sequence[line_item_pb2.LineItem], field: str
) -> None:
    for index, item in enumerate(items):
        at = f"{field}[{index}]"
        reference = item.catalog_reference
        if not reference.catalog_item_id:
            violations.add(f"{at}.catalog_reference.catalog_item_id", "required")
        elif len(reference.catalog_item_id) > MAX_ID:
            violations.add(
                f"{at}.catalog_reference.catalog_item_id", f"at most {MAX_ID} characters"
            )
        if not reference.app_id:
            violations.add(f"{at}.catalog_reference.app_id", "required")
        elif len(reference.app_id) > MAX_ID:
            violations.add(f"{at}.catalog_reference.app_id", f"at most {MAX_ID} characters")
        check_quantity(violations, f"{at}.quantity", item.quantity)


def check_quantity(violations: Violations, field: str, quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        violations.add(field, f"must be 1..{MAX_QUANTITY}")


def check_line_count(violations: Violations, field: str, count: int, *, required: bool) -> None:
    if required and count == 0:
        violations.add(field, "at least one line item is required")
    if count > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line items in all")


def check_custom_lines(
    violations: Violations, items: Sequence[checkout_pb2.CustomLineItem], field: str
) -> None:
    for index, item in enumerate(items):
        check_custom_line(violations, item, f"{field}[{index}]")


def check_custom_line(violations: Violations, item: checkout_pb2.CustomLineItem, at: str) -> None:
    check_quantity(violations, f"{at}.quantity", item.quantity)
    price = _amount(violations, f"{at}.price", item.price, required=True)
    if item.full_price:
        full = _amount(violations, f"{at}.full_price", item.full_price, required=True)
        if price is not None and full is not None and full < price:
            violations.add(f"{at}.full_price", "must be at least `price`")
    name = item.product_name.original
    if not name.strip():
        violations.add(f"{at}.product_name.original", "required")
    elif len(name) > MAX_PRODUCT_NAME:
        violations.add(f"{at}.product_name.original", f"at most {MAX_PRODUCT_NAME} characters")
    if len(item.description_lines) > MAX_DESCRIPTION_LINES:
        violations.add(f"{at}.description_lines", f"at most {MAX_DESCRIPTION_LINES} lines")
    if item.item_type.WhichOneof("kind") is None or (
        item.item_type.WhichOneof("kind") == "preset"
        and item.item_type.preset == catalog_pb2.ITEM_TYPE_PRESET_UNSPECIFIED
    ):
        violations.add(f"{at}.item_type", "required")
    deposit_online = item.payment_option == catalog_pb2.PAYMENT_OPTION_DEPOSIT_ONLINE
    if deposit_online:
        deposit = _amount(violations, f"{at}.deposit_amount", item.deposit_amount, required=True)
        if deposit is not None and (deposit <= 0 or (price is not None and deposit > price)):
            violations.add(f"{at}.deposit_amount", "must be above 0 and at most `price`")
    elif item.deposit_amount:
        violations.add(f"{at}.deposit_amount", "only for PAYMENT_OPTION_DEPOSIT_ONLINE")
    if item.physical_properties.weight:
        _amount(violations, f"{at}.physical_properties.weight", item.physical_properties.weight)
    check_url(violations, f"{at}.url", item.url)
    if item.HasField("catalog_reference"):
        reference = item.catalog_reference
        if not reference.catalog_item_id or not reference.app_id:
            violations.add(
                f"{at}.catalog_reference", "needs both `catalog_item_id` and `app_id` when set"
            )


def _amount(
    violations: Violations, field: str, text: str, *, required: bool = False
) -> Decimal | None:
    if not text:
        if required:
            violations.add(field, "required")
        return None
    try:
        return parse_amount(text, non_negative=True)
    except InvalidAmountError as exc:
        violations.add(field, str(exc))
        return None


def check_line_ids(violations: Violations, field: str, ids: Sequence[str]) -> None:
    if not ids:
        violations.add(field, "at least one line item id is required")
    elif len(ids) > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line item ids")


def check_quantity_updates(
    violations: Violations, field: str, updates: Sequence[line_item_pb2.LineItemQuantityUpdate]
) -> None:
    if not updates:
        violations.add(field, "at least one line item is required")
    elif len(updates) > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} entries")
    seen: set[str] = set()
    for index, update in enumerate(updates):
        at = f"{field}[{index}]"
        if not update.id:
            violations.add(f"{at}.id", "required")
        elif update.id in seen:
            violations.add(f"{at}.id", "the same line is given twice")
        seen.add(update.id)
        if not 1 <= update.quantity <= MAX_QUANTITY:
            violations.add(
                f"{at}.quantity", f"must be 1..{MAX_QUANTITY} (remove lines with RemoveLineItems)"
            )


# --------------------------------------------------------------------------- checkout fields


def check_email(violations: Violations, field: str, email: str) -> None:
    if email and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
        violations.add(field, f"must be an email address of at most {MAX_EMAIL} characters")


def check_note(violations: Violations, field: str, note: str) -> None:
    if len(note) > MAX_NOTE:
        violations.add(field, f"at most {MAX_NOTE} characters")


def check_language(violations: Violations, field: str, language: str) -> None:
    if language and not _LANGUAGE.fullmatch(language):
        violations.add(field, "must be an IETF BCP 47 language tag such as 'de' or 'de-AT'")


def check_conversion_currency(
    violations: Violations, field: str, currency: str, settings: SiteSettings
) -> None:
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
        if len(getattr(address, name)) > MAX_TEXT:
            violations.add(f"{field}.{name}", f"at most {MAX_TEXT} characters")
    for name in ("number", "name"):
        if len(getattr(address.street_address, name)) > MAX_TEXT:
            violations.add(f"{field}.street_address.{name}", f"at most {MAX_TEXT} characters")


def check_address_with_contact(
    violations: Violations, field: str, info: address_pb2.AddressWithContact
) -> None:
    check_address(violations, f"{field}.address", info.address)
    details = info.contact_details
    for name in ("first_name", "last_name", "phone", "company", "vat_id"):
        if len(getattr(details, name)) > MAX_TEXT:
            violations.add(f"{field}.contact_details.{name}", f"at most {MAX_TEXT} characters")


def check_custom_fields(
    violations: Violations, field: str, fields: Sequence[checkout_pb2.CustomField]
) -> None:
    if len(fields) > MAX_CUSTOM_FIELDS:
        violations.add(field, f"at most {MAX_CUSTOM_FIELDS} custom fields")
    for index, custom in enumerate(fields):
        if not custom.title.strip():
            violations.add(f"{field}[{index}].title", "required")
        elif len(custom.title) > MAX_CUSTOM_FIELD_TITLE:
            violations.add(
                f"{field}[{index}].title", f"at most {MAX_CUSTOM_FIELD_TITLE} characters"
            )


def check_merchant_discounts(
    violations: Violations,
    field: str,
    discounts: Sequence[pricing_pb2.MerchantDiscountInput],
    *,
    line_ids: set[str] | None,
) -> None:
    """`line_ids` None: the discounts may name no lines (creation); otherwise the lines they may
    name."""
    if len(discounts) > MAX_MERCHANT_DISCOUNTS:
        violations.add(field, f"at most {MAX_MERCHANT_DISCOUNTS} merchant discounts")
    for index, discount in enumerate(discounts):
        at = f"{field}[{index}]"
        try:
            amount = parse_amount(discount.amount, non_negative=True)
            if amount <= 0:
                violations.add(f"{at}.amount", "must be a positive decimal")
        except InvalidAmountError as exc:
            violations.add(f"{at}.amount", f"must be a positive decimal: {exc}")
        if len(discount.description) > MAX_TEXT:
            violations.add(f"{at}.description", f"at most {MAX_TEXT} characters")
        if line_ids is None and discount.line_item_ids:
            violations.add(f"{at}.line_item_ids", "cannot name lines when creating a checkout")
        elif line_ids is not None:
            for position, line_id in enumerate(discount.line_item_ids):
                if line_id not in line_ids:
                    violations.add(
                        f"{at}.line_item_ids[{position}]", "is not a line of the checkout"
                    )


def check_code(violations: Violations, field: str, code: str) -> None:
    if len(code) > MAX_CODE:
        violations.add(field, f"at most {MAX_CODE} characters")

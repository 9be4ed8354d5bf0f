"""Request fields -> domain values, with every INVALID_ARGUMENT the cart protos promise.

Each function adds field violations to a `Violations` collector (so a request reports all its
problems at once) and returns what it could read; the caller raises once at the end. Admin-only
inputs set by a buyer are PERMISSION_DENIED, raised at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal

from google.protobuf import field_mask_pb2

from ecom.cart.v1 import cart_pb2
from ecom.common.v1 import address_pb2, line_item_pb2, pricing_pb2, shipping_pb2
from services.cart.domain import (
    MAX_LINES,
    MAX_MERCHANT_DISCOUNTS,
    MAX_QUANTITY,
    Cart,
    MerchantDiscount,
    NewLine,
    ShippingChoice,
)
from services.cart.refs import (
    MAX_APP_ID_LENGTH,
    MAX_ITEM_ID_LENGTH,
    MalformedOptions,
    ref_from_proto,
)
from services.cart.site import SiteSettings
from services.platform.errors import PermissionDenied, Violations
from services.platform.identity import Caller
from services.pricing import InvalidAmountError, parse_amount

MAX_NOTE = 1000
MAX_EMAIL = 250
MAX_URL = 1000
MAX_COUPON = 100
MAX_ID = 100
MAX_DESCRIPTION = 500
MAX_TEXT = 500
MAX_CHANNEL_ID = 200

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGE = re.compile(r"[a-z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)

#: UpdateCart mask paths, and the ones only admins and services may use.
UPDATABLE_PATHS = frozenset(
    {
        "buyer_note",
        "buyer_info.email",
        "buyer_info.contact_id",
        "buyer_language",
        "conversion_currency",
        "contact_info",
        "contact_info.address",
        "contact_info.contact_details",
        "selected_shipping_option",
        "override_checkout_url",
    }
)
STAFF_PATHS = frozenset({"buyer_info.contact_id", "override_checkout_url"})


def admin_only(what: str) -> PermissionDenied:
    return PermissionDenied("ADMIN_ONLY_FIELD", f"only admins and services may set {what}")


# --------------------------------------------------------------------------- lines


def new_lines(
    violations: Violations, items: Sequence[line_item_pb2.LineItem], field: str, *, required: bool
) -> list[NewLine]:
    if required and not items:
        violations.add(field, "at least one line item is required")
    if len(items) > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line items")
        return []
    lines: list[NewLine] = []
    for index, item in enumerate(items):
        at = f"{field}[{index}]"
        reference = item.catalog_reference
        problems = len(_ids(violations, at, reference.catalog_item_id, reference.app_id))
        if not MAX_QUANTITY >= item.quantity >= 1:
            violations.add(f"{at}.quantity", f"must be 1..{MAX_QUANTITY}")
            problems += 1
        try:
            ref = ref_from_proto(reference)
        except MalformedOptions as exc:
            violations.add(f"{at}.catalog_reference.options", f"malformed: {exc}")
            continue
        if not problems:
            lines.append(NewLine(ref, item.quantity, index))
    return lines


def _ids(violations: Violations, at: str, item_id: str, app_id: str) -> list[str]:
    bad = []
    if not item_id:
        bad.append((f"{at}.catalog_reference.catalog_item_id", "required"))
    elif len(item_id) > MAX_ITEM_ID_LENGTH:
        bad.append(
            (f"{at}.catalog_reference.catalog_item_id", f"at most {MAX_ITEM_ID_LENGTH} characters")
        )
    if not app_id:
        bad.append((f"{at}.catalog_reference.app_id", "required"))
    elif len(app_id) > MAX_APP_ID_LENGTH:
        bad.append((f"{at}.catalog_reference.app_id", f"at most {MAX_APP_ID_LENGTH} characters"))
    for path, text in bad:
        violations.add(path, text)
    return [path for path, _ in bad]


def line_ids(violations: Violations, ids: Sequence[str], field: str) -> list[str]:
    if not ids:
        violations.add(field, "at least one line item id is required")
    elif len(ids) > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line item ids")
    for index, line_id in enumerate(ids):
        if not line_id or len(line_id) > MAX_ID:
            violations.add(f"{field}[{index}]", f"must be 1..{MAX_ID} characters")
    return list(ids)


def quantity_updates(
    violations: Violations, updates: Sequence[line_item_pb2.LineItemQuantityUpdate], field: str
) -> dict[str, int]:
    if not updates:
        violations.add(field, "at least one line item is required")
    elif len(updates) > MAX_LINES:
        violations.add(field, f"at most {MAX_LINES} line items")
        return {}
    quantities: dict[str, int] = {}
    for index, update in enumerate(updates):
        at = f"{field}[{index}]"
        if not update.id or len(update.id) > MAX_ID:
            violations.add(f"{at}.id", f"must be 1..{MAX_ID} characters")
        elif update.id in quantities:
            violations.add(f"{at}.id", "the same line is given twice")
        if not MAX_QUANTITY >= update.quantity >= 1:
            violations.add(
                f"{at}.quantity", f"must be 1..{MAX_QUANTITY} (remove lines with RemoveLineItems)"
            )
        quantities[update.id] = update.quantity
    return quantities


# --------------------------------------------------------------------------- cart fields


def check_email(violations: Violations, field: str, email: str) -> None:
    if email and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
        violations.add(field, f"must be an email address of at most {MAX_EMAIL} characters")


def check_note(violations: Violations, field: str, note: str) -> None:
    if len(note) > MAX_NOTE:
        violations.add(field, f"at most {MAX_NOTE} characters")


def check_language(violations: Violations, field: str, language: str) -> None:
    if language and not _LANGUAGE.fullmatch(language):
        violations.add(field, "must be an ISO 639-1 code in lower case, such as 'en'")


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


def check_contact_info(
    violations: Violations, field: str, info: address_pb2.AddressWithContact
) -> None:
    check_address(violations, f"{field}.address", info.address)
    details = info.contact_details
    for name in ("first_name", "last_name", "phone", "company", "vat_id"):
        if len(getattr(details, name)) > MAX_TEXT:
            violations.add(f"{field}.contact_details.{name}", f"at most {MAX_TEXT} characters")


def shipping_choice(
    violations: Violations, field: str, option: shipping_pb2.SelectedShippingOption
) -> ShippingChoice | None:
    if not option.carrier_id and not option.code:
        return None
    for name, value in (("carrier_id", option.carrier_id), ("code", option.code)):
        if not value or len(value) > MAX_CHANNEL_ID:
            violations.add(f"{field}.{name}", f"must be 1..{MAX_CHANNEL_ID} characters")
    return ShippingChoice(option.carrier_id, option.code)


def coupon_code(violations: Violations, field: str, code: str) -> str:
    code = code.strip()
    if len(code) > MAX_COUPON:
        violations.add(field, f"at most {MAX_COUPON} characters")
    return code


def merchant_discounts(
    violations: Violations,
    field: str,
    inputs: Sequence[pricing_pb2.MerchantDiscountInput],
    *,
    allow_line_ids: bool,
) -> list[MerchantDiscount]:
    if len(inputs) > MAX_MERCHANT_DISCOUNTS:
        violations.add(field, f"at most {MAX_MERCHANT_DISCOUNTS} merchant discounts")
        return []
    discounts = []
    for index, given in enumerate(inputs):
        at = f"{field}[{index}]"
        amount = Decimal(0)
        try:
            amount = parse_amount(given.amount, non_negative=True)
            if amount <= 0:
                violations.add(f"{at}.amount", "must be a positive decimal string")
        except InvalidAmountError as exc:
            violations.add(f"{at}.amount", str(exc))
        if given.line_item_ids and not allow_line_ids:
            violations.add(f"{at}.line_item_ids", "must be empty here: new lines have no ids yet")
        if len(given.description) > MAX_DESCRIPTION:
            violations.add(f"{at}.description", f"at most {MAX_DESCRIPTION} characters")
        if len(set(given.line_item_ids)) != len(given.line_item_ids):
            violations.add(f"{at}.line_item_ids", "a line is named twice")
        discounts.append(MerchantDiscount(amount, tuple(given.line_item_ids), given.description))
    return discounts


# --------------------------------------------------------------------------- update masks


Patch = Callable[[Cart], Cart]


def patch(
    violations: Violations,
    caller: Caller,
    settings: SiteSettings,
    values: cart_pb2.Cart,
    mask: field_mask_pb2.FieldMask,
    *,
    allowed: frozenset[str] = UPDATABLE_PATHS,
) -> Patch | None:
    """The change an update mask asks for, as a function of the cart (None: no path given).

    A path named with its field left unset clears the field. Buyers naming an admin-only path
    get PERMISSION_DENIED.
    """
    paths = list(dict.fromkeys(mask.paths))
    if not paths:
        return None
    for index, path in enumerate(paths):
        if path not in allowed:
            violations.add(f"update_mask.paths[{index}]", f"{path!r} cannot be updated")
        elif path in STAFF_PATHS and not caller.is_staff:
            raise admin_only(path)
    if "contact_info" in paths and {"contact_info.address", "contact_info.contact_details"} & set(
        paths
    ):
        violations.add("update_mask", "name contact_info or its parts, not both")
    buyer = values.buyer_info
    check_note(violations, "cart.buyer_note", values.buyer_note)
    check_email(violations, "cart.buyer_info.email", buyer.email)
    if len(buyer.contact_id) > MAX_ID:
        violations.add("cart.buyer_info.contact_id", f"at most {MAX_ID} characters")
    check_language(violations, "cart.buyer_language", values.buyer_language)
    check_conversion_currency(
        violations, "cart.conversion_currency", values.conversion_currency, settings
    )
    check_url(violations, "cart.override_checkout_url", values.override_checkout_url)
    check_contact_info(violations, "cart.contact_info", values.contact_info)
    choice = shipping_choice(
        violations, "cart.selected_shipping_option", values.selected_shipping_option
    )

    def apply(cart: Cart) -> Cart:
        changes: dict[str, object] = {}
        for path in paths:
            if path == "buyer_note":
                changes["buyer_note"] = values.buyer_note
            elif path == "buyer_info.email":
                changes["email"] = buyer.email
            elif path == "buyer_info.contact_id":
                changes["contact_id"] = buyer.contact_id
            elif path == "buyer_language":
                changes["buyer_language"] = values.buyer_language
            elif path == "conversion_currency":
                changes["conversion_currency"] = values.conversion_currency
            elif path == "selected_shipping_option":
                changes["selected_shipping"] = choice
            elif path == "override_checkout_url":
                changes["override_checkout_url"] = values.override_checkout_url
        contact = _contact_change(cart, values, paths)
        if contact is not None:
            changes["contact_info"] = contact
        return replace(cart, **changes)  # type: ignore[arg-type]

    return apply


def _contact_change(cart: Cart, values: cart_pb2.Cart, paths: list[str]) -> bytes | None:
    if "contact_info" in paths:
        return _serialized(values.contact_info) if values.HasField("contact_info") else b""
    parts = [p for p in paths if p.startswith("contact_info.")]
    if not parts:
        return None
    info = address_pb2.AddressWithContact.FromString(cart.contact_info)
    for part in parts:
        name = part.removeprefix("contact_info.")
        info.ClearField(name)  # type: ignore[arg-type]
        if values.contact_info.HasField(name):  # type: ignore[arg-type]
            getattr(info, name).CopyFrom(getattr(values.contact_info, name))
    return _serialized(info)


def _serialized(info: address_pb2.AddressWithContact) -> bytes:
    """Deterministic bytes, and none for an empty message (so "unset" stays unset)."""
    return info.SerializeToString(deterministic=True) if info.ByteSize() else b""


def contact_info_bytes(info: address_pb2.AddressWithContact) -> bytes:
    return _serialized(info)

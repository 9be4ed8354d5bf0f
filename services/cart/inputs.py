"""Request fields -> domain values, with every INVALID_ARGUMENT the cart protos promise.

The checks shared with other services (catalog references, quantities, emails, languages,
addresses, amounts...) live in `services.platform.inputs`; this module adds what is the cart's
own: its email limit, building domain values (`NewLine`, `ShippingChoice`, `MerchantDiscount`)
and UpdateCart's field mask. Each function adds field violations to a `Violations` collector (so
a request reports all its problems at once) and returns what it could read; the caller raises
once at the end. Admin-only inputs set by a buyer are PERMISSION_DENIED, raised at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from google.protobuf import field_mask_pb2

from ecom.cart.v1 import cart_pb2
from ecom.common.v1 import address_pb2, line_item_pb2, pricing_pb2, shipping_pb2
from services.cart.domain import Cart, CatalogRef, MerchantDiscount, NewLine, ShippingChoice
from services.platform import inputs as shared
from services.platform.errors import Violations
from services.platform.identity import Caller
from services.platform.sites import SiteSettings

#: The cart protos' limit on buyer emails (the checkout accepts these and longer ones).
MAX_EMAIL = 250
MAX_COUPON = 100
MAX_ID = 100
MAX_CHANNEL_ID = 200

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


# --------------------------------------------------------------------------- lines


def new_lines(
    violations: Violations, items: Sequence[line_item_pb2.LineItem], field: str, *, required: bool
) -> list[NewLine]:
    if not shared.check_line_count(violations, field, len(items), required=required):
        return []
    lines: list[NewLine] = []
    for index, item in enumerate(items):
        at = f"{field}[{index}]"
        reference = item.catalog_reference
        options = shared.check_catalog_reference(violations, f"{at}.catalog_reference", reference)
        quantity_ok = shared.check_quantity(violations, f"{at}.quantity", item.quantity)
        if options is not None and quantity_ok:
            ref = CatalogRef(
                app_id=reference.app_id, item_id=reference.catalog_item_id, options=options
            )
            lines.append(NewLine(ref, item.quantity, index))
    return lines


# --------------------------------------------------------------------------- cart fields


def check_email(violations: Violations, field: str, email: str) -> None:
    shared.check_email(violations, field, email, max_length=MAX_EMAIL)


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
    shared.check_length(violations, field, code, MAX_COUPON)
    return code


def merchant_discounts(
    violations: Violations,
    field: str,
    inputs: Sequence[pricing_pb2.MerchantDiscountInput],
    *,
    allow_line_ids: bool,
) -> list[MerchantDiscount]:
    """`allow_line_ids` False: new lines have no ids yet, so none may be named (the domain
    checks that named lines exist)."""
    if not shared.check_merchant_discount_count(violations, field, inputs):
        return []
    discounts = []
    for index, given in enumerate(inputs):
        at = f"{field}[{index}]"
        amount = shared.check_merchant_discount(violations, at, given)
        if given.line_item_ids and not allow_line_ids:
            violations.add(f"{at}.line_item_ids", "must be empty here: new lines have no ids yet")
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
            raise shared.admin_only(path)
    if "contact_info" in paths and {"contact_info.address", "contact_info.contact_details"} & set(
        paths
    ):
        violations.add("update_mask", "name contact_info or its parts, not both")
    buyer = values.buyer_info
    shared.check_note(violations, "cart.buyer_note", values.buyer_note)
    check_email(violations, "cart.buyer_info.email", buyer.email)
    shared.check_length(violations, "cart.buyer_info.contact_id", buyer.contact_id, MAX_ID)
    shared.check_language(violations, "cart.buyer_language", values.buyer_language)
    shared.check_conversion_currency(
        violations, "cart.conversion_currency", values.conversion_currency, settings
    )
    shared.check_url(violations, "cart.override_checkout_url", values.override_checkout_url)
    shared.check_address_with_contact(violations, "cart.contact_info", values.contact_info)
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

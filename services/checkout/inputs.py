"""Applying a caller's input fields to a checkout: the settable fields of CreateCheckout's
`checkout_info`, and UpdateCheckout's field-mask paths. Pure: protos in, protos out; problems
are InvalidArgument (all at once) or PermissionDenied (admin-only inputs from a buyer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.message import Message

from ecom.checkout.v1 import checkout_pb2
from services.checkout import validation as v
from services.checkout.domain import Sources
from services.platform import inputs as shared
from services.platform.errors import FieldViolation, InvalidArgument, Violations
from services.platform.identity import Caller
from services.platform.sites import SiteSettings

#: UpdateCheckout paths: exact ones, and roots whose sub-paths may be named too.
EXACT_PATHS = frozenset(
    {
        "buyer_info",
        "buyer_info.email",
        "buyer_info.contact_id",
        "shipping_info.selected_carrier_service_option",
        "custom_fields",
        "buyer_note",
        "buyer_language",
        "conversion_currency",
        "merchant_discounts",
        "override_checkout_url",
    }
)
TREE_PATHS = frozenset({"billing_info", "shipping_info.shipping_destination"})
STAFF_PATHS = frozenset({"buyer_info.contact_id", "merchant_discounts", "override_checkout_url"})
_SELECTED = "shipping_info.selected_carrier_service_option"


def _field(message: Message, name: str) -> Any:
    return message.DESCRIPTOR.fields_by_name.get(name)


def path_exists(path: str) -> bool:
    message: Message = checkout_pb2.Checkout()
    parts = path.split(".")
    for index, part in enumerate(parts):
        descriptor = _field(message, part)
        if descriptor is None:
            return False
        if index < len(parts) - 1:
            if descriptor.message_type is None or descriptor.is_repeated:
                return False
            message = getattr(message, part)
    return True


def allowed(path: str) -> bool:
    if path in EXACT_PATHS or path in TREE_PATHS:
        return True
    return any(path.startswith(root + ".") for root in TREE_PATHS) and path_exists(path)


def copy_path(source: Message, target: Message, path: str) -> None:
    """Set `path` of `target` to its value in `source`; unset in `source` clears it."""
    *parents, leaf = path.split(".")
    for part in parents:
        source, target = getattr(source, part), getattr(target, part)
    descriptor = _field(source, leaf)
    assert descriptor is not None
    if descriptor.is_repeated:
        target.ClearField(leaf)
        getattr(target, leaf).extend(getattr(source, leaf))
    elif descriptor.message_type is not None:
        if source.HasField(leaf):
            getattr(target, leaf).CopyFrom(getattr(source, leaf))
        else:
            target.ClearField(leaf)
    else:
        setattr(target, leaf, getattr(source, leaf))


def set_paths(checkout: checkout_pb2.Checkout) -> list[str]:
    """The paths an empty mask means: every settable field that is set (non-empty)."""
    paths = []
    if checkout.buyer_info.email:
        paths.append("buyer_info.email")
    if checkout.buyer_info.contact_id:
        paths.append("buyer_info.contact_id")
    if checkout.HasField("billing_info"):
        paths.append("billing_info")
    if checkout.shipping_info.HasField("shipping_destination"):
        paths.append("shipping_info.shipping_destination")
    selected = checkout.shipping_info.selected_carrier_service_option
    if selected.carrier_id or selected.code:
        paths.append(_SELECTED)
    for name in (
        "custom_fields",
        "buyer_note",
        "buyer_language",
        "conversion_currency",
        "merchant_discounts",
        "override_checkout_url",
    ):
        value = getattr(checkout, name)
        if len(value) if not isinstance(value, str) else value:
            paths.append(name)
    return paths


def apply_paths(
    caller: Caller,
    draft: checkout_pb2.Checkout,
    sources: Sources,
    given: checkout_pb2.Checkout,
    paths: Iterable[str],
    settings: SiteSettings,
    *,
    field_prefix: str = "checkout",
) -> None:
    """Copy `paths` from `given` into `draft`, check the resulting values, and refuse clearing a
    buyer email that is set. `field_prefix` names the request field in violations."""
    paths = list(dict.fromkeys(paths))
    problems = Violations()
    for path in paths:
        if not allowed(path):
            problems.add("update_mask", f"{path!r} cannot be updated")
    problems.raise_if_any()
    if caller.is_buyer:
        for path in paths:
            if path in STAFF_PATHS:
                raise shared.admin_only(path)
        if "buyer_info" in paths and given.buyer_info.contact_id != draft.buyer_info.contact_id:
            raise shared.admin_only("buyer_info.contact_id")
    email_before = draft.buyer_info.email
    for path in paths:
        if path == "buyer_info":
            draft.buyer_info.email = given.buyer_info.email
            draft.buyer_info.contact_id = given.buyer_info.contact_id
        elif path == _SELECTED:
            selected = given.shipping_info.selected_carrier_service_option
            sources.requested_option = (
                (selected.carrier_id, selected.code)
                if selected.carrier_id or selected.code
                else None
            )
            if (selected.carrier_id and not selected.code) or (
                selected.code and not selected.carrier_id
            ):
                problems.add(f"{field_prefix}.{_SELECTED}", "needs both `carrier_id` and `code`")
        else:
            copy_path(given, draft, path)
    if email_before and not draft.buyer_info.email:
        raise InvalidArgument(
            FieldViolation(f"{field_prefix}.buyer_info.email", "cannot be removed once set"),
            reason="BUYER_EMAIL_CANNOT_BE_REMOVED",
            message="the buyer email cannot be removed once set",
        )
    check_fields(problems, draft, settings, field_prefix=field_prefix)
    problems.raise_if_any()


def check_fields(
    problems: Violations,
    checkout: checkout_pb2.Checkout,
    settings: SiteSettings,
    *,
    field_prefix: str,
) -> None:
    """The value checks of every settable field of `checkout`."""
    at = f"{field_prefix}."
    shared.check_email(problems, f"{at}buyer_info.email", checkout.buyer_info.email)
    shared.check_address_with_contact(problems, f"{at}billing_info", checkout.billing_info)
    shared.check_address_with_contact(
        problems,
        f"{at}shipping_info.shipping_destination",
        checkout.shipping_info.shipping_destination,
    )
    shared.check_note(problems, f"{at}buyer_note", checkout.buyer_note)
    v.check_custom_fields(problems, f"{at}custom_fields", checkout.custom_fields)
    shared.check_language(problems, f"{at}buyer_language", checkout.buyer_language)
    shared.check_conversion_currency(
        problems, f"{at}conversion_currency", checkout.conversion_currency, settings
    )
    shared.check_url(problems, f"{at}override_checkout_url", checkout.override_checkout_url)
    v.check_merchant_discounts(
        problems,
        f"{at}merchant_discounts",
        checkout.merchant_discounts,
        line_ids={line.id for line in checkout.line_items},
    )


def apply_initial(
    caller: Caller,
    draft: checkout_pb2.Checkout,
    sources: Sources,
    info: checkout_pb2.Checkout,
    settings: SiteSettings,
) -> None:
    """CreateCheckout's `checkout_info`: every settable field that is set wins over what the
    draft holds (the defaults, or the cart's values). Buyer ids are handled by the caller."""
    if caller.is_buyer:
        if info.merchant_discounts:
            raise shared.admin_only("merchant_discounts")
        if info.override_checkout_url:
            raise shared.admin_only("override_checkout_url")
        if info.buyer_info.contact_id:
            raise shared.admin_only("buyer_info.contact_id")
    problems = Violations()
    v.check_merchant_discounts(
        problems, "checkout_info.merchant_discounts", info.merchant_discounts, line_ids=None
    )
    problems.raise_if_any()
    paths = [p for p in set_paths(info) if p != "buyer_info.contact_id" or caller.is_staff]
    apply_paths(caller, draft, sources, info, paths, settings, field_prefix="checkout_info")

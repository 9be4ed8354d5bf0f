"""Request checks that are the checkout's own: ids, catalog and custom lines, custom fields,
merchant discounts on the checkout's lines, coupon and gift card codes.

The checks shared with the cart and the other services (catalog references, quantities, line
ids, emails, languages, currencies, URLs, addresses, amounts) live in `services.platform.inputs`.
Each function adds field violations to a `Violations` collector, so a request reports all its
problems at once; the caller raises once at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import catalog_pb2, line_item_pb2, pricing_pb2
from services.platform import inputs as shared
from services.platform.errors import Violations

MAX_CODE = 100
MAX_CUSTOM_FIELDS = 20
MAX_CUSTOM_FIELD_TITLE = 100
MAX_DESCRIPTION_LINES = 20
MAX_PRODUCT_NAME = 200


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
        shared.check_catalog_reference(
            violations, f"{at}.catalog_reference", item.catalog_reference
        )
        shared.check_quantity(violations, f"{at}.quantity", item.quantity)


def check_custom_lines(
    violations: Violations, items: Sequence[checkout_pb2.CustomLineItem], field: str
) -> None:
    for index, item in enumerate(items):
        check_custom_line(violations, item, f"{field}[{index}]")


def check_custom_line(violations: Violations, item: checkout_pb2.CustomLineItem, at: str) -> None:
    shared.check_quantity(violations, f"{at}.quantity", item.quantity)
    price = shared.check_amount(violations, f"{at}.price", item.price, required=True)
    if item.full_price:
        full = shared.check_amount(violations, f"{at}.full_price", item.full_price, required=True)
        if price is not None and full is not None and full < price:
            violations.add(f"{at}.full_price", "must be at least `price`")
    name = item.product_name.original
    if not name.strip():
        violations.add(f"{at}.product_name.original", "required")
    else:
        shared.check_length(violations, f"{at}.product_name.original", name, MAX_PRODUCT_NAME)
    if len(item.description_lines) > MAX_DESCRIPTION_LINES:
        violations.add(f"{at}.description_lines", f"at most {MAX_DESCRIPTION_LINES} lines")
    if item.item_type.WhichOneof("kind") is None or (
        item.item_type.WhichOneof("kind") == "preset"
        and item.item_type.preset == catalog_pb2.ITEM_TYPE_PRESET_UNSPECIFIED
    ):
        violations.add(f"{at}.item_type", "required")
    deposit_online = item.payment_option == catalog_pb2.PAYMENT_OPTION_DEPOSIT_ONLINE
    if deposit_online:
        deposit = shared.check_amount(
            violations, f"{at}.deposit_amount", item.deposit_amount, required=True
        )
        if deposit is not None and (deposit <= 0 or (price is not None and deposit > price)):
            violations.add(f"{at}.deposit_amount", "must be above 0 and at most `price`")
    elif item.deposit_amount:
        violations.add(f"{at}.deposit_amount", "only for PAYMENT_OPTION_DEPOSIT_ONLINE")
    if item.physical_properties.weight:
        shared.check_amount(
            violations, f"{at}.physical_properties.weight", item.physical_properties.weight
        )
    shared.check_url(violations, f"{at}.url", item.url)
    if item.HasField("catalog_reference"):
        reference = item.catalog_reference
        if not reference.catalog_item_id or not reference.app_id:
            violations.add(
                f"{at}.catalog_reference", "needs both `catalog_item_id` and `app_id` when set"
            )
        else:
            shared.check_catalog_reference(violations, f"{at}.catalog_reference", reference)


# --------------------------------------------------------------------------- checkout fields


def check_custom_fields(
    violations: Violations, field: str, fields: Sequence[checkout_pb2.CustomField]
) -> None:
    if len(fields) > MAX_CUSTOM_FIELDS:
        violations.add(field, f"at most {MAX_CUSTOM_FIELDS} custom fields")
    for index, custom in enumerate(fields):
        if not custom.title.strip():
            violations.add(f"{field}[{index}].title", "required")
        else:
            shared.check_length(
                violations, f"{field}[{index}].title", custom.title, MAX_CUSTOM_FIELD_TITLE
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
    shared.check_merchant_discount_count(violations, field, discounts)
    for index, discount in enumerate(discounts):
        at = f"{field}[{index}]"
        shared.check_merchant_discount(violations, at, discount)
        if line_ids is None and discount.line_item_ids:
            violations.add(f"{at}.line_item_ids", "cannot name lines when creating a checkout")
        elif line_ids is not None:
            for position, line_id in enumerate(discount.line_item_ids):
                if line_id not in line_ids:
                    violations.add(
                        f"{at}.line_item_ids[{position}]", "is not a line of the checkout"
                    )


def check_code(violations: Violations, field: str, code: str) -> None:
    shared.check_length(violations, field, code, MAX_CODE)

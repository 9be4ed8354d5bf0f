"""CreateOrder's input: checked field by field and turned into the order to store.

The order is recorded as given; this module only refuses malformed input, drops output-only
fields, writes amounts canonically and sets what the suite assigns (ids, creator, statuses,
balance). Every problem of a request is reported at once (BadRequest field violations).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ecom.orders.v1 import order_pb2, orders_service_pb2
from services.orders import prices
from services.orders.domain import tags
from services.orders.domain.balance import summarize
from services.orders.domain.enums import (
    ApprovalStrategy,
    FulfillmentStatus,
    PaymentOption,
)
from services.orders.domain.lifecycle import initial_payment_status, initial_status
from services.orders.domain.lines import MAX_QUANTITY
from services.orders.record import apply_balance, locale_of, set_timestamp, total_of
from services.platform import errors
from services.platform.identity import Caller, Role
from services.pricing.errors import UnknownCurrencyError
from services.pricing.money import minor_units

MAX_LINES = 300
MAX_CUSTOM_FIELDS = 50
MAX_BUYER_NOTE = 1000
MAX_ID_LENGTH = 100
MAX_REFERENCE_LENGTH = 200
_PLACEHOLDER_CURRENCY = "USD"  # formats amounts while a bad currency is being reported


def approval_strategy(settings: orders_service_pb2.OrderCreationSettings) -> ApprovalStrategy:
    value = settings.order_approval_strategy
    if value == 0:
        return ApprovalStrategy.DEFAULT
    try:
        return ApprovalStrategy(value)
    except ValueError:
        raise errors.InvalidArgument.of(
            "settings.order_approval_strategy", "not a known ORDER_APPROVAL_STRATEGY_*"
        ) from None


def _clear_output_only(order: order_pb2.Order) -> None:
    for name in (
        "id",
        "number",
        "created_date",
        "updated_date",
        "payment_status",
        "fulfillment_status",
        "status",
        "archived",
        "activities",
        "balance_summary",
        "revision",
        "seen_by_a_human",
    ):
        order.ClearField(name)
    for line in order.line_items:
        line.refund_quantity = 0
        line.restock_quantity = 0


def _created_by(order: order_pb2.Order, caller: Caller) -> None:
    if caller.role is Role.SERVICE and order.created_by.WhichOneof("creator"):
        return  # a service (checkout) may name the creator it acts for
    order.ClearField("created_by")
    if caller.role is Role.SERVICE:
        order.created_by.app_id = caller.subject
    else:
        order.created_by.user_id = caller.subject


def _check_lines(order: order_pb2.Order, problems: errors.Violations) -> set[str]:
    if not order.line_items:
        problems.add("order.line_items", "required: at least one line")
    elif len(order.line_items) > MAX_LINES:
        problems.add("order.line_items", f"at most {MAX_LINES} lines")
    ids: set[str] = set()
    for index, line in enumerate(order.line_items):
        path = f"order.line_items[{index}]"
        if not line.id:
            line.id = str(uuid.uuid4())
        elif len(line.id) > MAX_ID_LENGTH:
            problems.add(f"{path}.id", f"at most {MAX_ID_LENGTH} characters")
        elif line.id in ids:
            problems.add(f"{path}.id", "another line has this id")
        ids.add(line.id)
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.add(f"{path}.quantity", f"must be 1..{MAX_QUANTITY}")
        if not line.product_name.original:
            problems.add(f"{path}.product_name.original", "required")
        if not line.price.amount:
            problems.add(f"{path}.price", "required")
        for name, value in (
            ("catalog_reference.catalog_item_id", line.catalog_reference.catalog_item_id),
            ("catalog_reference.app_id", line.catalog_reference.app_id),
            ("root_catalog_item_id", line.root_catalog_item_id),
        ):
            if len(value) > MAX_REFERENCE_LENGTH:
                problems.add(f"{path}.{name}", f"at most {MAX_REFERENCE_LENGTH} characters")
    return ids


def _check_references(
    order: order_pb2.Order, line_ids: set[str], problems: errors.Violations
) -> None:
    for index, discount in enumerate(order.applied_discounts):
        for position, line_id in enumerate(discount.line_item_ids):
            if line_id not in line_ids:
                problems.add(
                    f"order.applied_discounts[{index}].line_item_ids[{position}]",
                    "names no line of the order",
                )
    for index, fee in enumerate(order.additional_fees):
        for position, line_id in enumerate(fee.line_item_ids):
            if line_id not in line_ids:
                problems.add(
                    f"order.additional_fees[{index}].line_item_ids[{position}]",
                    "names no line of the order",
                )


def _check_extras(order: order_pb2.Order, problems: errors.Violations) -> None:
    if len(order.custom_fields) > MAX_CUSTOM_FIELDS:
        problems.add("order.custom_fields", f"at most {MAX_CUSTOM_FIELDS} custom fields")
    for index, custom in enumerate(order.custom_fields):
        if not 1 <= len(custom.title) <= 100:
            problems.add(f"order.custom_fields[{index}].title", "must be 1..100 characters")
    if len(order.buyer_note) > MAX_BUYER_NOTE:
        problems.add("order.buyer_note", f"at most {MAX_BUYER_NOTE} characters")
    if len(order.checkout_id) > MAX_REFERENCE_LENGTH:
        problems.add("order.checkout_id", f"at most {MAX_REFERENCE_LENGTH} characters")
    if order.channel_info.type == 0:
        problems.add("order.channel_info.type", "required: a CHANNEL_TYPE_* other than UNSPECIFIED")
    for name in ("tags", "private_tags"):
        given = list(getattr(order.tags, name))
        if len(given) > tags.MAX_TAGS:
            problems.add(f"order.tags.{name}", f"at most {tags.MAX_TAGS} tags")
        cleaned = tags.clean(given, f"order.tags.{name}", problems)
        getattr(order.tags, name)[:] = list(cleaned)
    if order.tags.ByteSize() == 0:
        order.ClearField("tags")


def _currency(order: order_pb2.Order, problems: errors.Violations) -> str:
    try:
        minor_units(order.currency)
    except UnknownCurrencyError:
        problems.add("order.currency", "not an ISO 4217 currency code (upper case, 'USD')")
        return _PLACEHOLDER_CURRENCY
    return order.currency


def prepare(
    request: orders_service_pb2.CreateOrderRequest, caller: Caller, now: datetime
) -> order_pb2.Order:
    """The order to store for a CreateOrder request (without its number), or InvalidArgument."""
    strategy = approval_strategy(request.settings)
    order = order_pb2.Order()
    order.CopyFrom(request.order)
    _clear_output_only(order)
    problems = errors.Violations()
    line_ids = _check_lines(order, problems)
    _check_references(order, line_ids, problems)
    _check_extras(order, problems)
    currency = _currency(order, problems)
    if not order.price_summary.total.amount:
        problems.add("order.price_summary.total", "required")
    prices.normalize_prices(order, currency, locale_of(order), problems, "order")
    problems.raise_if_any()

    _created_by(order, caller)
    order.id = str(uuid.uuid4())
    set_timestamp(order.created_date, now)
    set_timestamp(order.updated_date, now)
    order.revision = 1
    total = total_of(order)
    order.status = order_pb2.OrderStatus.ValueType(
        int(
            initial_status(
                strategy,
                total,
                [_payment_option(line.payment_option) for line in order.line_items],
            )
        )
    )
    order.payment_status = order_pb2.PaymentStatus.ValueType(int(initial_payment_status(total)))
    order.fulfillment_status = order_pb2.FulfillmentStatus.ValueType(
        int(FulfillmentStatus.NOT_FULFILLED)
    )
    apply_balance(order, summarize(total, (), ()))
    return order


def _payment_option(value: int) -> PaymentOption:
    try:
        return PaymentOption(value)
    except ValueError:
        return PaymentOption.UNSPECIFIED

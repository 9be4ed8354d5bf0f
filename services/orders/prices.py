"""Money on the order's messages: every `ecom.common.v1.Price` is read by its `amount` only; the
suite writes the canonical amount and computes the other Price fields (an order has no conversion
currency, so the converted amounts equal the amounts)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ecom.common.v1 import money_pb2
from services.platform import errors
from services.pricing.errors import InvalidAmountError
from services.pricing.money import format_amount, parse_amount, to_wire

_PRICE = money_pb2.Price.DESCRIPTOR
_ZERO = Decimal(0)


def price(amount: Decimal, currency: str, locale: str) -> money_pb2.Price:
    """A Price for an amount the suite computed (rounded to the currency's minor unit)."""
    text = to_wire(amount, currency)
    shown = format_amount(amount, currency, locale)
    return money_pb2.Price(
        amount=text, converted_amount=text, formatted_amount=shown, formatted_converted_amount=shown
    )


def present(target: money_pb2.Price, amount: Decimal, currency: str, locale: str) -> None:
    """Fill `target` for an amount given by a caller: exact, at least the minor unit's decimals."""
    text = to_wire(amount, currency, keep_precision=True)
    shown = format_amount(amount, currency, locale)
    target.amount = target.converted_amount = text
    target.formatted_amount = target.formatted_converted_amount = shown


def amount_of(value: money_pb2.Price) -> Decimal:
    """The amount of a stored Price (validated when it was recorded); unset counts as 0."""
    return Decimal(value.amount) if value.amount else _ZERO


def _prices(message: Message, path: str) -> Iterator[tuple[str, money_pb2.Price]]:
    for field, value in message.ListFields():
        kind = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or kind is None:
            continue
        if kind.GetOptions().map_entry or kind.full_name.startswith("google.protobuf."):
            continue
        where = f"{path}.{field.name}" if path else field.name
        items = list(value) if field.is_repeated else [value]
        for index, item in enumerate(items):
            item_path = f"{where}[{index}]" if field.is_repeated else where
            if kind.full_name == _PRICE.full_name:
                yield item_path, item
            else:
                yield from _prices(item, item_path)


def normalize_prices(
    message: Message,
    currency: str,
    locale: str,
    problems: errors.Violations,
    path: str = "",
    *,
    positive: bool = False,
) -> None:
    """Check every Price in `message` (its amount must be a non-negative, or with `positive` a
    positive, decimal string) and rewrite it in canonical form with the computed fields."""
    # An order repeats few amounts ("0.00" above all): each distinct one is written once.
    written: dict[str, money_pb2.Price] = {}
    for where, value in _prices(message, path):
        if not value.amount:
            value.Clear()  # only `amount` is read: a Price without one says nothing
            continue
        given = value.amount
        done = written.get(given)
        if done is not None:
            value.CopyFrom(done)
            continue
        try:
            amount = parse_amount(given, non_negative=True)
        except InvalidAmountError as exc:
            problems.add(f"{where}.amount", str(exc))
            continue
        if positive and amount == 0:
            problems.add(f"{where}.amount", "must be positive")
            continue
        present(value, amount, currency, locale)
        written[given] = value


def parse_positive(text: str, where: str, problems: errors.Violations) -> Decimal | None:
    """A positive wire amount, or None with a violation."""
    try:
        amount = parse_amount(text, non_negative=True)
    except InvalidAmountError as exc:
        problems.add(where, str(exc))
        return None
    if amount == 0:
        problems.add(where, "must be positive")
        return None
    return amount

"""Translation helpers shared by the discounts servicers: times, amounts, prices and scopes.

Parsing collects problems into a `Violations` under the proto field path and hands back a
placeholder, so one request reports all its problems at once and the domain checks never see a
value that failed to parse.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message

from ecom.common.v1 import money_pb2
from ecom.discounts.v1 import discount_rule_pb2
from services.discounts.domain.model import Scope, ScopeKind
from services.platform.errors import Violations
from services.pricing.errors import InvalidAmountError
from services.pricing.money import format_amount, parse_amount, to_wire

_SCOPE_MEMBERS = {ScopeKind.CATALOG_ITEM: "catalog_item", ScopeKind.CUSTOM_FILTER: "custom_filter"}
_SCOPE_TYPE_NAMES = {
    ScopeKind.CATALOG_ITEM: "SCOPE_TYPE_CATALOG_ITEM",
    ScopeKind.CUSTOM_FILTER: "SCOPE_TYPE_CUSTOM_FILTER",
}


def to_datetime(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def optional_time(message: Message, name: str) -> datetime | None:
    return to_datetime(getattr(message, name)) if message.HasField(name) else None


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def decimal_text(value: Decimal) -> str:
    """A Decimal as the wire grammar writes it (never an exponent), keeping its digits."""
    return f"{value:f}"


def parse_decimal(
    problems: Violations, path: str, text: str, *, placeholder: Decimal = Decimal(0)
) -> Decimal:
    """`text` as a Decimal, or `placeholder` after reporting why it is not a decimal string."""
    try:
        return parse_amount(text)
    except InvalidAmountError as exc:
        problems.add(path, str(exc))
        return placeholder


def optional_decimal(problems: Violations, path: str, text: str) -> Decimal | None:
    """Empty: None (no bound, no minimum)."""
    return parse_decimal(problems, path, text) if text else None


def price(amount: Decimal, currency: str) -> money_pb2.Price:
    """An amount the service computed, rounded to the currency's minor unit."""
    wire, formatted = _texts(amount, currency)
    return money_pb2.Price(
        amount=wire,
        converted_amount=wire,
        formatted_amount=formatted,
        formatted_converted_amount=formatted,
    )


def set_price(target: money_pb2.Price, amount: Decimal, currency: str) -> None:
    """`price(amount, currency)` written into `target` (a field of a message being built):
    copying a kept message is cheaper than building one, for the ~200 prices of a response."""
    target.CopyFrom(_kept_price(amount, currency))


@functools.lru_cache(maxsize=8192)
def _kept_price(amount: Decimal, currency: str) -> money_pb2.Price:
    """Shared and never changed: only ever copied from (`set_price`)."""
    return price(amount, currency)


@functools.lru_cache(maxsize=8192)
def _texts(amount: Decimal, currency: str) -> tuple[str, str]:
    """The wire and display forms of an amount. A response repeats few distinct amounts ("0.00",
    the same part on many lines) and formatting rounds twice, so the pair is memoized (equal
    Decimals such as 1.0 and 1.00 give the same rounded texts, so sharing an entry is safe)."""
    return to_wire(amount, currency), format_amount(amount, currency)


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, object]:
    return json_format.MessageToDict(struct)


def scope_from_proto(problems: Violations, path: str, scope: discount_rule_pb2.Scope) -> Scope:
    member: str | None = scope.WhichOneof("scope_item")
    try:
        kind = ScopeKind(scope.type)
    except ValueError:
        problems.add(
            f"{path}.type", "required: SCOPE_TYPE_CATALOG_ITEM or SCOPE_TYPE_CUSTOM_FILTER"
        )
        kind = ScopeKind.CATALOG_ITEM if member != "custom_filter" else ScopeKind.CUSTOM_FILTER
        member = _SCOPE_MEMBERS[kind]  # reported once: the type is what is wrong
    if member != _SCOPE_MEMBERS[kind]:
        problems.add(
            f"{path}.{_SCOPE_MEMBERS[kind]}",
            f"required with {_SCOPE_TYPE_NAMES[kind]} (and no other member of `scope_item`)",
        )
    scope_id = scope.id or str(uuid.uuid4())
    if kind is ScopeKind.CATALOG_ITEM:
        item = scope.catalog_item
        # A missing member is reported above; a placeholder app keeps the checks quiet.
        app_id = item.catalog_app_id if member == "catalog_item" else "-"
        return Scope(scope_id, kind, app_id, catalog_item_id=item.catalog_item_id)
    custom = scope.custom_filter
    app_id = custom.app_id if member == "custom_filter" else "-"
    return Scope(scope_id, kind, app_id, params=struct_to_dict(custom.params))


def scope_to_proto(scope: Scope) -> discount_rule_pb2.Scope:
    message = discount_rule_pb2.Scope(
        id=scope.id, type=discount_rule_pb2.Scope.ScopeType.ValueType(int(scope.kind))
    )
    if scope.kind is ScopeKind.CATALOG_ITEM:
        message.catalog_item.catalog_app_id = scope.app_id
        message.catalog_item.catalog_item_id = scope.catalog_item_id
    else:
        message.custom_filter.app_id = scope.app_id
        message.custom_filter.params.update(dict(scope.params))
    return message


def scopes_from_proto(
    problems: Violations, path: str, scopes: list[discount_rule_pb2.Scope]
) -> tuple[Scope, ...]:
    return tuple(scope_from_proto(problems, f"{path}[{i}]", s) for i, s in enumerate(scopes))

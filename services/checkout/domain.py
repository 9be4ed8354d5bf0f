"""The checkout's rules, in plain Python over its proto messages (no gRPC, no SQL).

- `Sources`: what a checkout needs besides its proto (per line the catalog data last read or the
  custom line as given; the shipping option the buyer asked for; coupon and gift card codes).
- Buyers: who a new checkout belongs to, and who may reach one.
- Lines: merging catalog lines with equal references, the limits, availability.
- Guards: a completed checkout is frozen; a placement in progress blocks mutations.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from google.protobuf import json_format

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import buyer_pb2, catalog_pb2, line_item_pb2
from services.platform.errors import FailedPrecondition, NotFound, PermissionDenied
from services.platform.identity import Caller, Role

MAX_LINES = 300
MAX_QUANTITY = 100_000

CHECKOUT_NOT_FOUND = "CHECKOUT_NOT_FOUND"
CHECKOUT_ALREADY_COMPLETED = "CHECKOUT_ALREADY_COMPLETED"
ORDER_CREATION_IN_PROGRESS = "ORDER_CREATION_IN_PROGRESS"

# --------------------------------------------------------------------------- sources

FOUND = "found"
NOT_FOUND = "not_found"
UNREAD = "unread"


@dataclass
class LineSource:
    """Where a line's data comes from. Catalog lines: the CatalogItemData last read (`data`,
    empty while never read) and whether the catalog knew the item then (`state`). Custom lines:
    the CustomLineItem as the caller gave it."""

    custom: bool
    data: bytes = b""
    state: str = UNREAD
    #: True when the line's catalog provider failed in the last calculation.
    stale: bool = False


@dataclass
class Sources:
    lines: dict[str, LineSource] = field(default_factory=dict)
    #: (carrier_id, code) the buyer asked for; None: the cheapest option.
    requested_option: tuple[str, str] | None = None
    coupon_code: str = ""
    gift_card_code: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": {
                line_id: {
                    "custom": source.custom,
                    "data": base64.b64encode(source.data).decode("ascii"),
                    "state": source.state,
                    "stale": source.stale,
                }
                for line_id, source in self.lines.items()
            },
            "requested_option": list(self.requested_option) if self.requested_option else None,
            "coupon_code": self.coupon_code,
            "gift_card_code": self.gift_card_code,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Sources:
        option = raw.get("requested_option")
        return cls(
            lines={
                line_id: LineSource(
                    custom=bool(entry["custom"]),
                    data=base64.b64decode(entry["data"]),
                    state=str(entry["state"]),
                    stale=bool(entry.get("stale", False)),
                )
                for line_id, entry in raw.get("lines", {}).items()
            },
            requested_option=(str(option[0]), str(option[1])) if option else None,
            coupon_code=str(raw.get("coupon_code", "")),
            gift_card_code=str(raw.get("gift_card_code", "")),
        )

    def copy(self) -> Sources:
        """A copy whose line sources can change without touching these (the data is bytes)."""
        return Sources(
            lines={line_id: replace(source) for line_id, source in self.lines.items()},
            requested_option=self.requested_option,
            coupon_code=self.coupon_code,
            gift_card_code=self.gift_card_code,
        )


# --------------------------------------------------------------------------- buyers


def buyer_key(info: buyer_pb2.BuyerInfo) -> tuple[str, str]:
    """("visitor" | "member" | "user", id) of the buyer named in `info`."""
    kind = info.WhichOneof("id")
    if kind == "visitor_id":
        return "visitor", info.visitor_id
    if kind == "member_id":
        return "member", info.member_id
    if kind == "user_id":
        return "user", info.user_id
    return "user", ""


def resolve_buyer(caller: Caller, requested: buyer_pb2.BuyerInfo) -> buyer_pb2.BuyerInfo:
    """The buyer of a new checkout: the visitor or member calling, or for admin and service
    callers the visitor or member they name (else themselves as `user_id`)."""
    buyer = buyer_pb2.BuyerInfo(email=requested.email)
    named = requested.WhichOneof("id")
    if caller.is_buyer:
        if requested.contact_id:
            raise PermissionDenied(
                "ADMIN_ONLY_FIELD", "only admins and services may set buyer_info.contact_id"
            )
        own = "visitor_id" if caller.role is Role.VISITOR else "member_id"
        if named is not None and (named != own or getattr(requested, named) != caller.subject):
            raise PermissionDenied("NOT_OWNER", "a buyer may create checkouts only for themselves")
        setattr(buyer, own, caller.subject)
        return buyer
    buyer.contact_id = requested.contact_id
    if named == "visitor_id" and requested.visitor_id:
        buyer.visitor_id = requested.visitor_id
    elif named == "member_id" and requested.member_id:
        buyer.member_id = requested.member_id
    else:
        buyer.user_id = caller.subject
    return buyer


def authorize(caller: Caller, buyer_kind: str, buyer_id: str) -> None:
    """Buyers reach only their own checkouts; staff reach every checkout of the site."""
    if caller.is_staff:
        return
    own_kind = "visitor" if caller.role is Role.VISITOR else "member"
    if buyer_kind != own_kind or buyer_id != caller.subject:
        raise PermissionDenied("NOT_OWNER", "the checkout belongs to another buyer")


def created_by(caller: Caller) -> checkout_pb2.CreatedBy:
    field_name = {
        Role.ADMIN: "user_id",
        Role.MEMBER: "member_id",
        Role.VISITOR: "visitor_id",
        Role.SERVICE: "app_id",
    }[caller.role]
    return checkout_pb2.CreatedBy(**{field_name: caller.subject})


def not_found(checkout_id: str) -> NotFound:
    return NotFound(CHECKOUT_NOT_FOUND, f"no checkout {checkout_id!r} on this site")


# --------------------------------------------------------------------------- guards


def ensure_open(completed: bool, placing: bool) -> None:
    """Mutations need a checkout that is neither completed nor being placed."""
    if completed:
        raise FailedPrecondition(CHECKOUT_ALREADY_COMPLETED, "the checkout is already completed")
    if placing:
        raise FailedPrecondition(
            ORDER_CREATION_IN_PROGRESS, "an order is being created from this checkout; retry later"
        )


# --------------------------------------------------------------------------- lines


def reference_key(reference: catalog_pb2.CatalogReference) -> tuple[str, str, str]:
    """Equal catalog references have equal keys (options compare as JSON values)."""
    options = json.dumps(
        json_format.MessageToDict(reference.options), sort_keys=True, separators=(",", ":")
    )
    return reference.app_id, reference.catalog_item_id, options


@dataclass(frozen=True)
class NewCatalogLine:
    reference: catalog_pb2.CatalogReference
    quantity: int
    #: Index in the request's `line_items`, for error metadata.
    index: int


def add_catalog_lines(
    lines: list[line_item_pb2.LineItem],
    sources: Sources,
    new: Sequence[NewCatalogLine],
) -> dict[int, str]:
    """Add catalog lines in request order: a reference already present adds to that line's
    quantity, others are appended. Returns request index -> line id. Raises
    LINE_ITEM_QUANTITY_LIMIT_EXCEEDED when a line would pass 100000."""
    by_key = {
        reference_key(line.catalog_reference): line for line in lines if not line.custom_line_item
    }
    placed: dict[int, str] = {}
    for item in new:
        key = reference_key(item.reference)
        line = by_key.get(key)
        if line is None:
            line = line_item_pb2.LineItem(id=str(uuid.uuid4()), quantity=0)
            line.catalog_reference.CopyFrom(item.reference)
            lines.append(line)
            sources.lines[line.id] = LineSource(custom=False)
            by_key[key] = line
        if line.quantity + item.quantity > MAX_QUANTITY:
            raise FailedPrecondition(
                "LINE_ITEM_QUANTITY_LIMIT_EXCEEDED",
                f"line {item.index} would exceed {MAX_QUANTITY} units",
                metadata={"line_item_index": str(item.index)},
            )
        line.quantity += item.quantity
        placed[item.index] = line.id
    return placed


def add_custom_lines(
    lines: list[line_item_pb2.LineItem],
    sources: Sources,
    items: Sequence[checkout_pb2.CustomLineItem],
) -> None:
    """Custom lines are always new lines; their data is what the caller gave."""
    for item in items:
        line = line_item_pb2.LineItem(
            id=str(uuid.uuid4()), quantity=item.quantity, custom_line_item=True
        )
        if item.HasField("catalog_reference"):
            line.catalog_reference.CopyFrom(item.catalog_reference)
        lines.append(line)
        stored = checkout_pb2.CustomLineItem()
        stored.CopyFrom(item)
        stored.id = line.id
        sources.lines[line.id] = LineSource(
            custom=True, data=stored.SerializeToString(deterministic=True), state=FOUND
        )


def check_line_limit(count: int) -> None:
    if count > MAX_LINES:
        raise FailedPrecondition(
            "LINE_ITEMS_LIMIT_EXCEEDED", f"a checkout holds at most {MAX_LINES} lines"
        )


def availability(quantity: int, quantity_available: int | None) -> catalog_pb2.Availability:
    """A line's availability from the catalog's stock figure (None: unlimited)."""
    if quantity_available is None:
        return catalog_pb2.Availability(status=catalog_pb2.AVAILABILITY_STATUS_AVAILABLE)
    if quantity_available <= 0:
        status = catalog_pb2.AVAILABILITY_STATUS_NOT_AVAILABLE
    elif quantity_available < quantity:
        status = catalog_pb2.AVAILABILITY_STATUS_PARTIALLY_AVAILABLE
    else:
        status = catalog_pb2.AVAILABILITY_STATUS_AVAILABLE
    return catalog_pb2.Availability(status=status, quantity_available=max(quantity_available, 0))


def shippable(line: line_item_pb2.LineItem) -> bool:
    return line.physical_properties.shippable

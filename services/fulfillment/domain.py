"""The fulfillment rules, in plain Python: what a fulfillment is, what may be created or changed,
and how an order's fulfillment status follows from its fulfillments.

No grpc, no SQL: the servicer translates protos to these types, the store persists them, and the
orders client reads orders into `OrderFacts`.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.fulfillment import tracking
from services.fulfillment.tracking import Tracking
from services.platform.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Violations,
    check_revision,
)

RESOURCE = "fulfillment"
MAX_LINE_ITEMS = 300
MAX_FULFILLMENTS_PER_ORDER = 300
MAX_STATUS = 100
MAX_LIST_ORDERS = 100

ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
LINE_ITEM_NOT_FOUND = "LINE_ITEM_NOT_FOUND"
FULFILLMENT_NOT_FOUND = "FULFILLMENT_NOT_FOUND"
FULFILLMENT_QUANTITY_EXCEEDED = "FULFILLMENT_QUANTITY_EXCEEDED"
FULFILLMENT_LIMIT_EXCEEDED = "FULFILLMENT_LIMIT_EXCEEDED"
ORDER_NOT_APPROVED = "ORDER_NOT_APPROVED"
ORDER_CANCELED = "ORDER_CANCELED"

#: UpdateFulfillment's allowed `update_mask` paths.
TRACKING_PATHS = frozenset(
    {
        "tracking_info.tracking_number",
        "tracking_info.shipping_provider",
        "tracking_info.tracking_link",
    }
)
UPDATABLE = frozenset({"tracking_info", "status", "completed"}) | TRACKING_PATHS


class OrderStatus(enum.IntEnum):
    """Numbers as in `ecom.orders.v1.OrderStatus`."""

    UNSPECIFIED = 0
    INITIALIZED = 1
    APPROVED = 2
    CANCELED = 3


class FulfillmentStatus(enum.IntEnum):
    """Numbers as in `ecom.orders.v1.FulfillmentStatus`."""

    NOT_FULFILLED = 1
    PARTIALLY_FULFILLED = 2
    FULFILLED = 3


class Action(enum.IntEnum):
    """Numbers as in `ecom.fulfillment.v1.FulfillmentAction`."""

    CREATED = 1
    UPDATED = 2
    DELETED = 3


@dataclass(frozen=True)
class LineQuantity:
    """Units of one order line (an order's line, or a fulfillment's share of it)."""

    id: str
    quantity: int


@dataclass(frozen=True)
class OrderFacts:
    """What the fulfillment service knows of an order. Lines and buyer never change after the
    order is created; `status` is only known when just read from the orders service."""

    id: str
    lines: tuple[LineQuantity, ...]
    visitor_id: str = ""
    member_id: str = ""
    status: OrderStatus | None = None

    def owned_by(self, subject: str) -> bool:
        """The ownership rule of the orders service: the buyer's visitor or member id is the
        caller's subject."""
        return bool(subject) and subject in (self.visitor_id, self.member_id)


@dataclass(frozen=True)
class Draft:
    """A fulfillment a caller asks to create; a quantity of 0 means the line's remainder."""

    line_items: tuple[LineQuantity, ...]
    tracking: Tracking = field(default_factory=Tracking)
    status: str = ""
    completed: bool = False


@dataclass(frozen=True)
class Fulfillment:
    id: str
    order_id: str
    #: 1, 2, ... in creation order within the order.
    position: int
    line_items: tuple[LineQuantity, ...]
    tracking: Tracking
    status: str
    completed: bool
    revision: int
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Patch:
    """UpdateFulfillment's request: new values for the fields named in `paths`."""

    paths: frozenset[str]
    tracking: Tracking = field(default_factory=Tracking)
    status: str = ""
    completed: bool = False
    revision: int = 0


# --- validation of requests ------------------------------------------------------------------


def check_id(value: str, path: str) -> str:
    if not value:
        raise InvalidArgument.of(path, "required")
    return value


def check_draft(draft: Draft, prefix: str, violations: Violations) -> None:
    """Add a violation for each thing `draft` gets wrong on its own (before reading the order)."""
    lines = draft.line_items
    if not lines:
        violations.add(f"{prefix}.line_items", "required: at least one line")
    elif len(lines) > MAX_LINE_ITEMS:
        violations.add(f"{prefix}.line_items", f"at most {MAX_LINE_ITEMS} lines")
    seen: set[str] = set()
    for index, line in enumerate(lines):
        path = f"{prefix}.line_items[{index}]"
        if not line.id:
            violations.add(f"{path}.id", "required")
        elif line.id in seen:
            violations.add(f"{path}.id", f"line {line.id!r} is given twice")
        seen.add(line.id)
        if line.quantity < 0:
            violations.add(f"{path}.quantity", "must not be negative (0: the remainder)")
    tracking.check(draft.tracking, f"{prefix}.tracking_info", violations)
    check_status(draft.status, f"{prefix}.status", violations)


def check_status(status: str, path: str, violations: Violations) -> None:
    if len(status) > MAX_STATUS:
        violations.add(path, f"at most {MAX_STATUS} characters")


def check_create(order_id: str, draft: Draft) -> None:
    violations = Violations()
    if not order_id:
        violations.add("order_id", "required")
    check_draft(draft, "fulfillment", violations)
    violations.raise_if_any()


def check_mask(paths: Iterable[str]) -> frozenset[str]:
    paths = frozenset(paths)
    allowed = ", ".join(sorted(UPDATABLE))
    violations = Violations()
    if not paths:
        violations.add("update_mask", f"required: name the fields to change ({allowed})")
    for path in sorted(paths - UPDATABLE):
        violations.add("update_mask", f"{path!r} cannot be updated (updatable: {allowed})")
    violations.raise_if_any()
    return paths


def check_patch(order_id: str, fulfillment_id: str, patch: Patch) -> None:
    violations = Violations()
    if not order_id:
        violations.add("order_id", "required")
    if not fulfillment_id:
        violations.add("fulfillment.id", "required")
    violations.raise_if_any()
    paths = check_mask(patch.paths)
    # Only the named fields are read, so only they are checked.
    whole = "tracking_info" in paths
    named = Tracking(
        *(
            getattr(patch.tracking, name) if whole or f"tracking_info.{name}" in paths else ""
            for name in ("tracking_number", "shipping_provider", "tracking_link")
        )
    )
    tracking.check(named, "fulfillment.tracking_info", violations)
    if "status" in paths:
        check_status(patch.status, "fulfillment.status", violations)
    violations.raise_if_any()


def check_order_ids(order_ids: Sequence[str], path: str) -> list[str]:
    """The distinct ids in request order; INVALID_ARGUMENT when empty, too many or one empty."""
    violations = Violations()
    if not order_ids:
        violations.add(path, "required: at least one order id")
    elif len(order_ids) > MAX_LIST_ORDERS:
        violations.add(path, f"at most {MAX_LIST_ORDERS} order ids")
    for index, order_id in enumerate(order_ids):
        if not order_id:
            violations.add(f"{path}[{index}]", "required")
    violations.raise_if_any()
    return list(dict.fromkeys(order_ids))


# --- rules over an order's fulfillments ------------------------------------------------------


def fulfilled_quantities(fulfillments: Iterable[Fulfillment]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for fulfillment in fulfillments:
        for line in fulfillment.line_items:
            totals[line.id] += line.quantity
    return totals


def fulfillment_status(
    lines: Sequence[LineQuantity], fulfillments: Iterable[Fulfillment]
) -> FulfillmentStatus:
    """The rule of `ecom.orders.v1.FulfillmentStatus`: none, every line in full, or between."""
    done = fulfilled_quantities(fulfillments)
    if not any(done[line.id] for line in lines):
        return FulfillmentStatus.NOT_FULFILLED
    if all(done[line.id] >= line.quantity for line in lines):
        return FulfillmentStatus.FULFILLED
    return FulfillmentStatus.PARTIALLY_FULFILLED


def check_fulfillable(order: OrderFacts) -> None:
    if order.status is OrderStatus.CANCELED:
        raise FailedPrecondition(ORDER_CANCELED, f"order {order.id} is canceled")
    if order.status is not OrderStatus.APPROVED:
        raise FailedPrecondition(
            ORDER_NOT_APPROVED, f"order {order.id} is not approved yet and cannot be fulfilled"
        )


def resolve_lines(
    order: OrderFacts, existing: Sequence[Fulfillment], draft: Draft
) -> tuple[LineQuantity, ...]:
    """The draft's lines with every quantity resolved (0 -> the remainder), or the reason the
    order cannot take them. `existing` must be all of the order's fulfillments, read under the
    order's lock."""
    check_fulfillable(order)
    ordered: Mapping[str, int] = {line.id: line.quantity for line in order.lines}
    for line in draft.line_items:
        if line.id not in ordered:
            raise NotFound(
                LINE_ITEM_NOT_FOUND,
                f"order {order.id} has no line {line.id!r}",
                metadata={"line_item_id": line.id},
            )
    done = fulfilled_quantities(existing)
    resolved: list[LineQuantity] = []
    for line in draft.line_items:
        remaining = max(ordered[line.id] - done[line.id], 0)
        wanted = line.quantity or remaining
        if remaining == 0 or wanted > remaining:
            raise FailedPrecondition(
                FULFILLMENT_QUANTITY_EXCEEDED,
                f"line {line.id!r} has {remaining} unfulfilled units"
                + (f"; {wanted} were asked for" if line.quantity else ""),
                metadata={"line_item_id": line.id, "remaining_quantity": str(remaining)},
            )
        resolved.append(LineQuantity(line.id, wanted))
    if len(existing) >= MAX_FULFILLMENTS_PER_ORDER:
        raise FailedPrecondition(
            FULFILLMENT_LIMIT_EXCEEDED,
            f"order {order.id} already has {MAX_FULFILLMENTS_PER_ORDER} fulfillments",
            metadata={"limit": str(MAX_FULFILLMENTS_PER_ORDER)},
        )
    return tuple(resolved)


def new_fulfillment(
    order_id: str,
    position: int,
    lines: tuple[LineQuantity, ...],
    draft: Draft,
    now: datetime,
) -> Fulfillment:
    return Fulfillment(
        id=str(uuid.uuid4()),
        order_id=order_id,
        position=position,
        line_items=lines,
        tracking=tracking.normalize(draft.tracking),
        status=draft.status,
        completed=draft.completed,
        revision=1,
        created=now,
        updated=now,
    )


def apply_patch(current: Fulfillment, patch: Patch, now: datetime) -> Fulfillment | None:
    """The fulfillment after the update, or None when the update changes nothing."""
    check_revision(RESOURCE, patch.revision, current.revision)
    paths = patch.paths
    old = current.tracking
    if "tracking_info" in paths:
        new = patch.tracking
    else:
        new = Tracking(
            tracking_number=_pick(paths, "tracking_info.tracking_number", patch, old),
            shipping_provider=_pick(paths, "tracking_info.shipping_provider", patch, old),
            tracking_link=_pick(paths, "tracking_info.tracking_link", patch, old),
        )
        carrier_changed = tracking.canonical_carrier(new.shipping_provider) != (
            old.shipping_provider
        )
        if "tracking_info.tracking_link" not in paths and (
            new.tracking_number != old.tracking_number or carrier_changed
        ):
            # The old link pointed at the old number or carrier: recompute it.
            new = replace(new, tracking_link="")
    updated = replace(
        current,
        tracking=tracking.normalize(new),
        status=patch.status if "status" in paths else current.status,
        completed=patch.completed if "completed" in paths else current.completed,
    )
    if updated == current:
        return None
    return replace(updated, revision=current.revision + 1, updated=now)


def _pick(paths: frozenset[str], path: str, patch: Patch, old: Tracking) -> str:
    name = path.rpartition(".")[2]
    source = patch.tracking if path in paths else old
    value: str = getattr(source, name)
    return value


def check_owner(order: OrderFacts, subject: str) -> None:
    if not order.owned_by(subject):
        raise PermissionDenied("NOT_OWNER", f"order {order.id} belongs to another buyer")


def order_not_found(order_id: str) -> NotFound:
    return NotFound(
        ORDER_NOT_FOUND, f"no order {order_id!r} on this site", metadata={"order_id": order_id}
    )


def fulfillment_not_found(order_id: str, fulfillment_id: str) -> NotFound:
    return NotFound(
        FULFILLMENT_NOT_FOUND,
        f"order {order_id!r} has no fulfillment {fulfillment_id!r}",
        metadata={"order_id": order_id, "fulfillment_id": fulfillment_id},
    )

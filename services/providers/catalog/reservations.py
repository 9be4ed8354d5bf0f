"""Stock reservations (`ecom.spi.inventory.v1`), in plain Python: request checks, the states of a
reservation, and the all-or-nothing allocation of stock to its items.

A reservation holds units through its lines: each line records the reference as requested, the
stock it took units from and how many (`held`; 0 for stock that is not tracked). Held units count
against the stock's availability while the reservation is RESERVED and not past `expire_time`,
so a reservation expires by the clock alone: nothing has to run for its units to be free again.
Its stored status catches up (RESERVED -> EXPIRED) the next time it is touched.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.platform.errors import FailedPrecondition, NotFound, Violations
from services.providers.catalog.domain import StockKey
from services.providers.catalog.references import Ref

MAX_ITEMS = 300
MAX_QUANTITY = 100_000
MAX_RESERVATION_ID_LENGTH = 200
MAX_TTL = timedelta(hours=24)
#: Used when the request sets no ttl; the SPI asks for at least 10 minutes, the suite sends 15.
DEFAULT_TTL = timedelta(minutes=15)


class Status(enum.IntEnum):
    """Numbers as in `ecom.spi.inventory.v1.ReservationStatus`."""

    RESERVED = 1
    COMMITTED = 2
    RELEASED = 3
    EXPIRED = 4


@dataclass(frozen=True)
class Line:
    ref: Ref
    quantity: int
    #: The stock units were taken from; None when the item was unknown or not tracked.
    stock: StockKey | None = None
    #: Units taken from that stock (0 when it is not tracked).
    held: int = 0


@dataclass(frozen=True)
class Reservation:
    id: str
    status: Status
    lines: tuple[Line, ...]
    expire_time: datetime | None = None
    order_id: str = ""

    def effective_status(self, now: datetime) -> Status:
        if (
            self.status is Status.RESERVED
            and self.expire_time is not None
            and self.expire_time <= now
        ):
            return Status.EXPIRED
        return self.status

    def same_items(self, wanted: Sequence[tuple[Ref, int]]) -> bool:
        """Same quantities per reference, whatever the order."""
        return {line.ref.key: line.quantity for line in self.lines} == {
            ref.key: quantity for ref, quantity in wanted
        }


@dataclass(frozen=True)
class Target:
    """One merged item of a request, with what its stock can give: `key` None for an unknown
    item (capacity 0), `capacity` None for stock that is not tracked."""

    ref: Ref
    quantity: int
    key: StockKey | None
    capacity: int | None


@dataclass(frozen=True)
class Shortage:
    ref: Ref
    requested: int
    available: int


class InsufficientStock(FailedPrecondition):
    """FAILED_PRECONDITION (INSUFFICIENT_INVENTORY); the servicer adds the SPI's
    `InsufficientInventory` detail built from `shortages`."""

    def __init__(self, reservation_id: str, shortages: Sequence[Shortage]) -> None:
        names = ", ".join(
            f"{s.ref.catalog_item_id[:60]} ({s.available} of {s.requested})" for s in shortages[:5]
        )
        more = f" and {len(shortages) - 5} more" if len(shortages) > 5 else ""
        super().__init__(
            "INSUFFICIENT_INVENTORY",
            f"not enough stock for {len(shortages)} item(s): {names}{more}",
            metadata={"reservation_id": reservation_id},
        )
        self.shortages = tuple(shortages)


def check_reservation_id(violations: Violations, reservation_id: str) -> None:
    if not reservation_id:
        violations.add("reservation_id", "required")
    elif len(reservation_id) > MAX_RESERVATION_ID_LENGTH:
        violations.add("reservation_id", f"at most {MAX_RESERVATION_ID_LENGTH} characters")


def check_items(violations: Violations, items: Sequence[tuple[Ref, int]]) -> list[tuple[Ref, int]]:
    """Check 1..300 items with quantities 1..100000; merge references listed twice (their
    quantities add up), keeping the order of first appearance."""
    if not items:
        violations.add("items", f"required: 1..{MAX_ITEMS} items")
    elif len(items) > MAX_ITEMS:
        violations.add("items", f"at most {MAX_ITEMS} items")
    merged: dict[str, tuple[Ref, int]] = {}
    for index, (ref, quantity) in enumerate(items):
        if not 1 <= quantity <= MAX_QUANTITY:
            violations.add(f"items[{index}].quantity", f"must be 1..{MAX_QUANTITY}")
        if not ref.catalog_item_id:
            violations.add(f"items[{index}].catalog_reference.catalog_item_id", "required")
        previous = merged.get(ref.key)
        merged[ref.key] = (ref, quantity + (previous[1] if previous else 0))
    return list(merged.values())


def check_ttl(violations: Violations, ttl_seconds: float) -> timedelta:
    """The hold time of a ReserveInventory; 0 means the default."""
    if ttl_seconds < 0:
        violations.add("ttl", "must not be negative")
    elif ttl_seconds > MAX_TTL.total_seconds():
        violations.add("ttl", "at most 24 h")
    else:
        return timedelta(seconds=ttl_seconds) if ttl_seconds else DEFAULT_TTL
    return DEFAULT_TTL


def allocate(reservation_id: str, targets: Sequence[Target]) -> tuple[Line, ...]:
    """Take stock for every target, all or nothing. Targets sharing a stock draw from it in
    request order. Raises InsufficientStock listing every short reference."""
    remaining: dict[StockKey, int] = {}
    for target in targets:
        if target.key is not None and target.capacity is not None:
            remaining.setdefault(target.key, target.capacity)
    lines: list[Line] = []
    shortages: list[Shortage] = []
    for target in targets:
        if target.key is None:
            shortages.append(Shortage(target.ref, target.quantity, 0))
            continue
        if target.capacity is None:
            lines.append(Line(target.ref, target.quantity, None, 0))
            continue
        given = min(target.quantity, remaining[target.key])
        remaining[target.key] -= given
        if given < target.quantity:
            shortages.append(Shortage(target.ref, target.quantity, given))
        lines.append(Line(target.ref, target.quantity, target.key, target.quantity))
    if shortages:
        raise InsufficientStock(reservation_id, shortages)
    return tuple(lines)


def capacity(
    key: StockKey, visible: bool, tracked: bool, quantity: int, held: Mapping[StockKey, int]
) -> int | None:
    """What a stock can give a reservation now: None when not tracked, 0 for hidden products."""
    if not visible:
        return 0
    if not tracked:
        return None
    return max(0, quantity - held.get(key, 0))


def not_found(reservation_id: str) -> NotFound:
    return NotFound(
        "RESERVATION_NOT_FOUND",
        f"no reservation {reservation_id[:100]!r} on this site",
        metadata={"reservation_id": reservation_id[:100]},
    )


def already_committed(reservation_id: str, detail: str) -> FailedPrecondition:
    return FailedPrecondition(
        "RESERVATION_ALREADY_COMMITTED",
        f"reservation {reservation_id[:100]!r} is committed: {detail}",
        metadata={"reservation_id": reservation_id[:100]},
    )


def released(reservation_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        "RESERVATION_RELEASED",
        f"reservation {reservation_id[:100]!r} was released; reserve again first",
        metadata={"reservation_id": reservation_id[:100]},
    )

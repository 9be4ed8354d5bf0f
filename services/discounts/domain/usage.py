"""Counting uses: reservations held for checkouts, and recording uses for placed orders.

A use is counted once per placed order. Before an order exists, checkout *reserves* the uses its
price includes; a held use counts against a usage limit for everyone else until it is recorded,
released or expires. Reservation holds are rows with their own expiry, so an abandoned checkout
gives its uses back by time alone: nothing has to sweep for limits to be right.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.discounts.domain.model import Rule, code_key
from services.discounts.domain.status import applies_now, limit_reached

#: How long a reservation holds its uses unless recorded, released or renewed (the contract's
#: default; ECOM_DISCOUNT_RESERVATION_TTL_S overrides it when the deployment defines it).
DEFAULT_RESERVATION_TTL = timedelta(minutes=15)
MAX_NAMED_RULES = 100
MAX_RESERVATION_ID_LENGTH = 200


class ReservationState(enum.IntEnum):
    OPEN = 1
    RELEASED = 2
    RECORDED = 3


class HoldKind(enum.IntEnum):
    RULE = 1
    COUPON = 2


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    rule_ids: tuple[str, ...]
    coupon_id: str | None
    coupon_code: str
    state: ReservationState
    expires: datetime
    order_id: str | None = None

    def holding(self, now: datetime) -> bool:
        """Whether its uses still count against limits."""
        return self.state is ReservationState.OPEN and self.expires > now


@dataclass(frozen=True)
class HeldUses:
    """Uses held by other reservations, per target, as counted at `counted_at`.

    A hold counts while unexpired, so the counts stay exact at a later time as long as no hold
    was added or removed (nothing was committed since) and none of the counted ones expired yet:
    until `first_expiry`."""

    counts: Mapping[str, int]
    counted_at: datetime
    #: The earliest expiry among the counted holds (None: no holds counted).
    first_expiry: datetime | None

    def still_exact(self, now: datetime) -> bool:
        """Whether the counts are those of `now` too, given no commit since they were read."""
        if now < self.counted_at:
            return False  # a clock step back: holds that had expired may count again
        return self.first_expiry is None or now < self.first_expiry


def distinct(ids: Iterable[str]) -> tuple[str, ...]:
    """Ids once each, in a fixed order (sorted: rows are then locked in one order everywhere,
    so two transactions never wait on each other in a cycle)."""
    return tuple(sorted(set(ids)))


def rules_not_live(named: Sequence[str], found: Mapping[str, Rule], now: datetime) -> list[str]:
    """Named rules that do not exist, are switched off or are not LIVE."""
    return [r for r in named if r not in found or not applies_now(found[r], now)]


def rules_exhausted(rules: Iterable[Rule], held_by_others: Mapping[str, int]) -> list[str]:
    """Rules whose counted uses plus the uses other reservations hold leave no use free."""
    return [
        rule.id
        for rule in rules
        if limit_reached(
            rule.definition.usage_limit, rule.usage_count + held_by_others.get(rule.id, 0)
        )
    ]


def reached_through(usage_limit: int | None, before: int, after: int) -> bool:
    """Whether a count going from `before` to `after` comes to reach the limit (the moment
    `discount_rule_usage_limit_reached` is emitted: once, not again while it stays reached)."""
    return usage_limit is not None and before < usage_limit <= after


def usage_fingerprint(rule_ids: Iterable[str], coupon_code: str) -> str:
    """What RecordDiscountUsage compares to tell a retry from a different request for the same
    order: the set of rules and the coupon code (case-insensitively)."""
    content = {"rules": sorted(set(rule_ids)), "coupon": code_key(coupon_code)}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

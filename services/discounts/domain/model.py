"""What discount rules and coupons are, in plain Python (no grpc, no SQL, no protobuf).

The shapes mirror `ecom.discounts.v1` so that a violation found here can name the proto field it
concerns, but amounts are `Decimal`s, times are aware `datetime`s and JSON values are plain Python.
Everything is frozen: a rule read once can be shared by every evaluation that follows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

#: Limits the contract sets (discount_rule.proto, coupon.proto, discount_rules_service.proto).
MAX_NAME_LENGTH = 100
MAX_TRIGGER_DEPTH = 5
MAX_TRIGGER_NODES = 20
MAX_CHILD_TRIGGERS = 10
MAX_DISCOUNT_VALUES = 10
MAX_SCOPES = 50
MAX_BUY_GET_QUANTITY = 1000
MAX_PARAMS_JSON_BYTES = 8 * 1024
MAX_SCOPE_ID_LENGTH = 100
MAX_COUPON_CODE_LENGTH = 20
MAX_RULES_PER_SITE = 1000


class ScopeKind(enum.IntEnum):
    """Numbers as in `Scope.ScopeType`."""

    CATALOG_ITEM = 1
    CUSTOM_FILTER = 2


@dataclass(frozen=True)
class Scope:
    """A set of lines: a catalog (or one item of it), or lines whose custom scope data match."""

    id: str
    kind: ScopeKind
    #: `catalog_item.catalog_app_id` or `custom_filter.app_id`.
    app_id: str
    #: CATALOG_ITEM only; empty: every item of the catalog.
    catalog_item_id: str = ""
    #: CUSTOM_FILTER only: JSON values to match (see `scopes.matches`).
    params: Mapping[str, Any] = field(default_factory=dict)


# -- triggers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllOf:
    triggers: tuple[Trigger, ...]


@dataclass(frozen=True)
class AnyOf:
    triggers: tuple[Trigger, ...]


@dataclass(frozen=True)
class SubtotalRange:
    scopes: tuple[Scope, ...]
    minimum: Decimal | None
    maximum: Decimal | None


@dataclass(frozen=True)
class QuantityRange:
    scopes: tuple[Scope, ...]
    #: As given: 0 means 1.
    minimum: int
    #: As given: 0 means no upper bound.
    maximum: int

    @property
    def effective_minimum(self) -> int:
        return self.minimum or 1


@dataclass(frozen=True)
class CustomTrigger:
    """Met when the discount-triggers provider registered as `app_id` says trigger `id` holds."""

    id: str
    app_id: str


Trigger = AllOf | AnyOf | SubtotalRange | QuantityRange | CustomTrigger


class TriggerKind(enum.IntEnum):
    """Numbers as in `DiscountTrigger.TriggerType`."""

    AND = 1
    SUBTOTAL_RANGE = 2
    ITEM_QUANTITY_RANGE = 3
    CUSTOM = 4
    OR = 5


def trigger_kind(trigger: Trigger) -> TriggerKind:
    if isinstance(trigger, AllOf):
        return TriggerKind.AND
    if isinstance(trigger, AnyOf):
        return TriggerKind.OR
    if isinstance(trigger, SubtotalRange):
        return TriggerKind.SUBTOTAL_RANGE
    if isinstance(trigger, QuantityRange):
        return TriggerKind.ITEM_QUANTITY_RANGE
    return TriggerKind.CUSTOM


def children(trigger: Trigger) -> tuple[Trigger, ...]:
    return trigger.triggers if isinstance(trigger, AllOf | AnyOf) else ()


def custom_triggers(trigger: Trigger | None) -> list[tuple[str, CustomTrigger]]:
    """Every custom trigger of a tree with its path ("0.2": second child of the first child),
    in depth-first order. The path tells apart two uses of one provider trigger in one rule."""
    found: list[tuple[str, CustomTrigger]] = []

    def walk(node: Trigger, path: str) -> None:
        if isinstance(node, CustomTrigger):
            found.append((path, node))
        for index, child in enumerate(children(node)):
            walk(child, f"{path}.{index}" if path else str(index))

    if trigger is not None:
        walk(trigger, "")
    return found


# -- discounts -----------------------------------------------------------------------------------


class AmountKind(enum.IntEnum):
    """Numbers as in `Discount.DiscountType`."""

    PERCENTAGE = 1
    FIXED_AMOUNT = 2
    FIXED_PRICE = 3


@dataclass(frozen=True)
class SpecificItems:
    scopes: tuple[Scope, ...]


@dataclass(frozen=True)
class BuyXGetY:
    buy_quantity: int
    buy_scopes: tuple[Scope, ...]
    get_quantity: int
    get_scopes: tuple[Scope, ...]
    #: Most rounds per order; 0: no limit.
    limit: int = 0


@dataclass(frozen=True)
class Discount:
    target: SpecificItems | BuyXGetY
    kind: AmountKind
    #: The percentage (0, 100], the amount off (> 0) or the fixed price (>= 0), per unit.
    value: Decimal


class AppliesTo(enum.IntEnum):
    """Numbers as in `DiscountRuleSettings.AppliesTo`."""

    ALL_ITEMS = 1
    LOWEST_PRICED_ITEM = 2


class RuleStatus(enum.IntEnum):
    """Numbers as in `DiscountRuleStatus`."""

    LIVE = 1
    EXPIRED = 2
    PENDING = 3


@dataclass(frozen=True)
class RuleDefinition:
    """What the merchant defines: everything of a rule except identity, counts and dates."""

    name: str
    active: bool
    start: datetime | None
    end: datetime | None
    #: None only in a definition that failed validation (the trigger is required).
    trigger: Trigger | None
    discounts: tuple[Discount, ...]
    applies_to: AppliesTo = AppliesTo.ALL_ITEMS
    usage_limit: int | None = None

    def scopes(self) -> list[Scope]:
        """Every scope of the rule: its triggers' and its discounts'."""
        found: list[Scope] = []

        def walk(node: Trigger) -> None:
            if isinstance(node, SubtotalRange | QuantityRange):
                found.extend(node.scopes)
            for child in children(node):
                walk(child)

        if self.trigger is not None:
            walk(self.trigger)
        for discount in self.discounts:
            if isinstance(discount.target, SpecificItems):
                found.extend(discount.target.scopes)
            else:
                found.extend(discount.target.buy_scopes)
                found.extend(discount.target.get_scopes)
        return found

    def app_ids(self) -> set[str]:
        """Every app the rule mentions: scope apps and custom trigger providers."""
        apps = {scope.app_id for scope in self.scopes() if scope.app_id}
        apps.update(trigger.app_id for _, trigger in custom_triggers(self.trigger))
        return apps


@dataclass(frozen=True)
class Rule:
    id: str
    definition: RuleDefinition
    revision: int
    usage_count: int
    created: datetime
    updated: datetime

    @property
    def name(self) -> str:
        return self.definition.name


# -- coupons -------------------------------------------------------------------------------------


class CouponKind(enum.IntEnum):
    """Numbers as in `CouponDiscountKind`: which member of `Coupon.discount` is set."""

    MONEY_OFF_AMOUNT = 1
    PERCENT_OFF_RATE = 2
    FREE_SHIPPING = 3
    FIXED_PRICE_AMOUNT = 4


@dataclass(frozen=True)
class CouponDefinition:
    code: str
    name: str
    scope: Scope | None
    #: None only in a definition that failed validation (a discount is required).
    kind: CouponKind | None
    #: The amount off, the percent off or the fixed price; 0 for free shipping.
    value: Decimal
    minimum_subtotal: Decimal | None = None
    start: datetime | None = None
    expiration: datetime | None = None
    usage_limit: int | None = None
    limited_to_one_item: bool = False
    active: bool = True
    #: True when `free_shipping` was given as false (the contract requires true).
    free_shipping_false: bool = False


@dataclass(frozen=True)
class Coupon:
    id: str
    definition: CouponDefinition
    revision: int
    number_of_usages: int
    created: datetime
    updated: datetime

    @property
    def code(self) -> str:
        return self.definition.code


def code_key(code: str) -> str:
    """How codes compare: surrounding whitespace trimmed, case folded ("Summer10" = "SUMMER10")."""
    return code.strip().casefold()


def name_key(name: str) -> str:
    """How names sort and prefix-match: case-insensitively."""
    return name.casefold()


class StackingPolicy(enum.IntEnum):
    """Numbers as in `StackingPolicy`."""

    STACK_ALL = 1
    BEST_PER_ITEM = 2

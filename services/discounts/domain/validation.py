"""The rules a discount rule or a coupon must follow (CreateDiscountRule / CreateCoupon errors).

Each check returns every problem at once as field violations whose paths are the proto's, relative
to the resource (`trigger.all_of.triggers[0].subtotal_range.max`); the caller prefixes them with
the request field (`discount_rule.`). Malformed wire values (an amount that is not a decimal
string, a oneof member that does not match its type) are reported by the translation from proto,
which hands over a placeholder that passes these checks, so nothing is reported twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal

from services.discounts.domain.model import (
    MAX_BUY_GET_QUANTITY,
    MAX_CHILD_TRIGGERS,
    MAX_COUPON_CODE_LENGTH,
    MAX_DISCOUNT_VALUES,
    MAX_NAME_LENGTH,
    MAX_PARAMS_JSON_BYTES,
    MAX_SCOPE_ID_LENGTH,
    MAX_SCOPES,
    MAX_TRIGGER_DEPTH,
    MAX_TRIGGER_NODES,
    AllOf,
    AmountKind,
    AnyOf,
    BuyXGetY,
    CouponDefinition,
    CouponKind,
    CustomTrigger,
    Discount,
    QuantityRange,
    RuleDefinition,
    Scope,
    ScopeKind,
    SpecificItems,
    SubtotalRange,
    Trigger,
)
from services.platform.errors import FieldViolation

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class _Problems:
    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, path: str, description: str) -> None:
        self.items.append(FieldViolation(path, description))


def _name(problems: _Problems, name: str, path: str = "name") -> None:
    if not name:
        problems.add(path, f"required, 1..{MAX_NAME_LENGTH} characters")
    elif len(name) > MAX_NAME_LENGTH:
        problems.add(path, f"at most {MAX_NAME_LENGTH} characters")


def _scope(problems: _Problems, scope: Scope, path: str) -> None:
    if len(scope.id) > MAX_SCOPE_ID_LENGTH:
        problems.add(f"{path}.id", f"at most {MAX_SCOPE_ID_LENGTH} characters")
    if scope.kind is ScopeKind.CATALOG_ITEM:
        if not scope.app_id:
            problems.add(f"{path}.catalog_item.catalog_app_id", "required")
        return
    if not scope.app_id:
        problems.add(f"{path}.custom_filter.app_id", "required")
    size = len(json.dumps(dict(scope.params), separators=(",", ":")).encode())
    if size > MAX_PARAMS_JSON_BYTES:
        problems.add(f"{path}.custom_filter.params", "at most 8 KiB as JSON")


def _scopes(
    problems: _Problems, scopes: Sequence[Scope], path: str, *, required: bool
) -> list[tuple[str, Scope]]:
    if required and not scopes:
        problems.add(path, f"required: 1..{MAX_SCOPES} scopes")
    elif len(scopes) > MAX_SCOPES:
        problems.add(path, f"at most {MAX_SCOPES} scopes")
    located = [(f"{path}[{i}]", scope) for i, scope in enumerate(scopes)]
    for scope_path, scope in located:
        _scope(problems, scope, scope_path)
    return located


def _unique_scope_ids(problems: _Problems, located: Iterable[tuple[str, Scope]]) -> None:
    seen: set[str] = set()
    for path, scope in located:
        if scope.id in seen:
            problems.add(f"{path}.id", f"scope id {scope.id!r} is used twice in this resource")
        seen.add(scope.id)


# -- rules ---------------------------------------------------------------------------------------


def _trigger(
    problems: _Problems, node: Trigger, path: str, depth: int, located: list[tuple[str, Scope]]
) -> int:
    """Check one node and its subtree; returns the subtree's node count."""
    if depth > MAX_TRIGGER_DEPTH:
        problems.add(path, f"triggers nest at most {MAX_TRIGGER_DEPTH} levels deep")
        return 1
    if isinstance(node, AllOf | AnyOf):
        member = "all_of" if isinstance(node, AllOf) else "any_of"
        count = len(node.triggers)
        if not 1 <= count <= MAX_CHILD_TRIGGERS:
            problems.add(f"{path}.{member}.triggers", f"1..{MAX_CHILD_TRIGGERS} triggers")
        return 1 + sum(
            _trigger(problems, child, f"{path}.{member}.triggers[{i}]", depth + 1, located)
            for i, child in enumerate(node.triggers)
        )
    if isinstance(node, SubtotalRange):
        here = f"{path}.subtotal_range"
        located.extend(_scopes(problems, node.scopes, f"{here}.scopes", required=False))
        if node.minimum is None and node.maximum is None:
            problems.add(here, "needs a `min`, a `max` or both")
        if node.minimum is not None and node.minimum < 0:
            problems.add(f"{here}.min", "must not be negative")
        if node.maximum is not None and node.maximum < (node.minimum or _ZERO):
            problems.add(f"{here}.max", "must not be below `min` (or 0)")
    elif isinstance(node, QuantityRange):
        here = f"{path}.item_quantity_range"
        located.extend(_scopes(problems, node.scopes, f"{here}.scopes", required=False))
        if node.minimum < 0:
            problems.add(f"{here}.min", "must not be negative (0 means 1)")
        if node.maximum < 0:
            problems.add(f"{here}.max", "must not be negative (0 means no upper bound)")
        elif node.maximum and node.maximum < node.effective_minimum:
            problems.add(f"{here}.max", "must not be below `min`")
    elif isinstance(node, CustomTrigger):
        if not node.id:
            problems.add(f"{path}.custom.id", "required")
        if not node.app_id:
            problems.add(f"{path}.custom.app_id", "required")
    return 1


def _amount(problems: _Problems, discount: Discount, path: str) -> None:
    value = discount.value
    if discount.kind is AmountKind.PERCENTAGE:
        if not _ZERO < value <= _HUNDRED:
            problems.add(f"{path}.percentage", "must be in (0, 100]")
    elif discount.kind is AmountKind.FIXED_AMOUNT:
        if value <= 0:
            problems.add(f"{path}.fixed_amount", "must be positive")
    elif value < 0:
        problems.add(f"{path}.fixed_price", "must not be negative")


def _discount(
    problems: _Problems, discount: Discount, path: str, located: list[tuple[str, Scope]]
) -> None:
    _amount(problems, discount, path)
    target = discount.target
    if isinstance(target, SpecificItems):
        located.extend(
            _scopes(problems, target.scopes, f"{path}.specific_items_info.scopes", required=True)
        )
        return
    assert isinstance(target, BuyXGetY)
    here = f"{path}.buy_x_get_y_info"
    for side, quantity, scopes in (
        ("customer_buys", target.buy_quantity, target.buy_scopes),
        ("customer_gets", target.get_quantity, target.get_scopes),
    ):
        if not 1 <= quantity <= MAX_BUY_GET_QUANTITY:
            problems.add(f"{here}.{side}.quantity", f"must be 1..{MAX_BUY_GET_QUANTITY}")
        located.extend(_scopes(problems, scopes, f"{here}.{side}.scopes", required=True))
    if target.limit < 0:
        problems.add(f"{here}.limit", "must not be negative (0 means no limit)")


def rule_problems(definition: RuleDefinition) -> list[FieldViolation]:
    """Every rule of CreateDiscountRule the definition breaks (paths relative to the rule)."""
    problems = _Problems()
    _name(problems, definition.name)
    start, end = definition.start, definition.end
    if start is not None and end is not None and end <= start:
        problems.add("active_time_info.end", "must be after `start`")
    located: list[tuple[str, Scope]] = []
    if definition.trigger is None:
        problems.add("trigger", "required")
    else:
        nodes = _trigger(problems, definition.trigger, "trigger", 1, located)
        if nodes > MAX_TRIGGER_NODES:
            problems.add("trigger", f"at most {MAX_TRIGGER_NODES} triggers in the whole tree")
    if not 1 <= len(definition.discounts) <= MAX_DISCOUNT_VALUES:
        problems.add("discounts.values", f"required: 1..{MAX_DISCOUNT_VALUES} discounts")
    for i, discount in enumerate(definition.discounts):
        _discount(problems, discount, f"discounts.values[{i}]", located)
    if definition.usage_limit is not None and definition.usage_limit < 1:
        problems.add("settings.usage_limit", "must be at least 1 (unset: unlimited)")
    _unique_scope_ids(problems, located)
    return problems.items


# -- coupons -------------------------------------------------------------------------------------


def coupon_problems(definition: CouponDefinition) -> list[FieldViolation]:
    """Every rule of CreateCoupon the definition breaks (paths relative to the coupon)."""
    problems = _Problems()
    code = definition.code
    if not code:
        problems.add("code", f"required, 1..{MAX_COUPON_CODE_LENGTH} characters")
    elif len(code) > MAX_COUPON_CODE_LENGTH:
        problems.add("code", f"at most {MAX_COUPON_CODE_LENGTH} characters")
    elif any(ch.isspace() for ch in code):
        problems.add("code", "must not contain whitespace")
    _name(problems, definition.name)
    if definition.scope is not None:
        _scope(problems, definition.scope, "scope")
    value = definition.value
    if definition.kind is None:
        problems.add(
            "discount",
            "exactly one of money_off_amount, percent_off_rate, free_shipping or "
            "fixed_price_amount is required",
        )
    elif definition.kind is CouponKind.FREE_SHIPPING:
        if definition.free_shipping_false:
            problems.add("free_shipping", "must be true when set")
    elif definition.kind is CouponKind.PERCENT_OFF_RATE:
        if not _ZERO < value <= _HUNDRED:
            problems.add("percent_off_rate", "must be in (0, 100]")
    elif definition.kind is CouponKind.MONEY_OFF_AMOUNT:
        if value <= 0:
            problems.add("money_off_amount", "must be positive")
    elif value < 0:
        problems.add("fixed_price_amount", "must not be negative")
    if definition.minimum_subtotal is not None and definition.minimum_subtotal < 0:
        problems.add("minimum_subtotal", "must not be negative")
    if definition.usage_limit is not None and definition.usage_limit < 1:
        problems.add("usage_limit", "must be at least 1 (unset: unlimited)")
    start, expiration = definition.start, definition.expiration
    if start is not None and expiration is not None and expiration <= start:
        problems.add("expiration_time", "must be after `start_time`")
    return problems.items


def rule_scopes(definition: RuleDefinition) -> list[tuple[str, Scope]]:
    """Every scope of a rule with its path (relative to the rule), for checks that need the
    outside world (is the catalog app registered?)."""
    located: list[tuple[str, Scope]] = []
    ignored = _Problems()
    if definition.trigger is not None:
        _trigger(ignored, definition.trigger, "trigger", 1, located)
    for i, discount in enumerate(definition.discounts):
        _discount(ignored, discount, f"discounts.values[{i}]", located)
    return located

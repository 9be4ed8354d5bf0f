"""`ecom.discounts.v1.DiscountRule` <-> the domain's `RuleDefinition` / `Rule`.

Shape problems (a oneof member that does not match its declared type, a required member missing,
an amount that is not a decimal string, output-only fields set) are reported here with proto
paths; the domain's `validation.rule_problems` checks the rest on the parsed definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from google.protobuf.message import Message

from ecom.discounts.v1 import discount_rule_pb2
from services.discounts.domain.model import (
    AllOf,
    AmountKind,
    AnyOf,
    AppliesTo,
    BuyXGetY,
    CustomTrigger,
    Discount,
    QuantityRange,
    Rule,
    RuleDefinition,
    Scope,
    ScopeKind,
    SpecificItems,
    SubtotalRange,
    Trigger,
    trigger_kind,
)
from services.discounts.domain.status import rule_status
from services.discounts.proto_common import (
    decimal_text,
    optional_decimal,
    optional_time,
    parse_decimal,
    scope_to_proto,
    scopes_from_proto,
    timestamp,
)
from services.platform.errors import Violations

pb = discount_rule_pb2
_TRIGGER_MEMBERS = "all_of, any_of, subtotal_range, item_quantity_range or custom"
_TARGET_MEMBERS = {
    pb.Discount.TARGET_TYPE_SPECIFIC_ITEMS: "specific_items_info",
    pb.Discount.TARGET_TYPE_BUY_X_GET_Y: "buy_x_get_y_info",
}
_AMOUNT_MEMBERS = {
    AmountKind.PERCENTAGE: "percentage",
    AmountKind.FIXED_AMOUNT: "fixed_amount",
    AmountKind.FIXED_PRICE: "fixed_price",
}
#: Output-only fields of DiscountRule a create must leave empty.
_OUTPUT_ONLY = ("id", "revision", "status", "usage_count", "created_date", "updated_date")
_MESSAGE_FIELDS = frozenset({"created_date", "updated_date"})
#: Stands in for a target that failed to parse: it passes the domain checks (the real problem is
#: already reported) and is never stored, since the request fails.
_PLACEHOLDER_SCOPE = Scope("placeholder", ScopeKind.CATALOG_ITEM, "-")


# -- proto -> domain -----------------------------------------------------------------------------


def trigger_from_proto(problems: Violations, path: str, trigger: pb.DiscountTrigger) -> Trigger:
    member = trigger.WhichOneof("trigger_data")
    if member == "all_of" or member == "any_of":
        group = trigger.all_of if member == "all_of" else trigger.any_of
        nested = tuple(
            trigger_from_proto(problems, f"{path}.{member}.triggers[{i}]", child)
            for i, child in enumerate(group.triggers)
        )
        return AllOf(nested) if member == "all_of" else AnyOf(nested)
    if member == "subtotal_range":
        node = trigger.subtotal_range
        here = f"{path}.subtotal_range"
        return SubtotalRange(
            scopes_from_proto(problems, f"{here}.scopes", list(node.scopes)),
            optional_decimal(problems, f"{here}.min", node.min),
            optional_decimal(problems, f"{here}.max", node.max),
        )
    if member == "item_quantity_range":
        quantity = trigger.item_quantity_range
        scopes = scopes_from_proto(
            problems, f"{path}.item_quantity_range.scopes", list(quantity.scopes)
        )
        return QuantityRange(scopes, quantity.min, quantity.max)
    if member == "custom":
        return CustomTrigger(trigger.custom.id, trigger.custom.app_id)
    problems.add(path, f"exactly one of {_TRIGGER_MEMBERS} is required")
    return QuantityRange((), 0, 0)  # placeholder that passes the domain checks


def _target(problems: Violations, path: str, discount: pb.Discount) -> SpecificItems | BuyXGetY:
    member = discount.WhichOneof("discount_target")
    wanted = _TARGET_MEMBERS.get(discount.target_type)
    if wanted is None:
        problems.add(f"{path}.target_type", "required: TARGET_TYPE_SPECIFIC_ITEMS or _BUY_X_GET_Y")
        return SpecificItems((_PLACEHOLDER_SCOPE,))
    if member != wanted:
        problems.add(f"{path}.{wanted}", "required with this `target_type` (and no other target)")
        return SpecificItems((_PLACEHOLDER_SCOPE,))
    if member == "specific_items_info":
        scopes = list(discount.specific_items_info.scopes)
        return SpecificItems(
            scopes_from_proto(problems, f"{path}.specific_items_info.scopes", scopes)
        )
    offer = discount.buy_x_get_y_info
    here = f"{path}.buy_x_get_y_info"
    return BuyXGetY(
        buy_quantity=offer.customer_buys.quantity,
        buy_scopes=scopes_from_proto(
            problems, f"{here}.customer_buys.scopes", list(offer.customer_buys.scopes)
        ),
        get_quantity=offer.customer_gets.quantity,
        get_scopes=scopes_from_proto(
            problems, f"{here}.customer_gets.scopes", list(offer.customer_gets.scopes)
        ),
        limit=offer.limit,
    )


def _discount(problems: Violations, path: str, discount: pb.Discount) -> Discount:
    target = _target(problems, path, discount)
    try:
        kind = AmountKind(discount.discount_type)
    except ValueError:
        problems.add(f"{path}.discount_type", "required: a DISCOUNT_TYPE_* value")
        return Discount(target, AmountKind.FIXED_PRICE, Decimal(0))
    member = _AMOUNT_MEMBERS[kind]
    if discount.WhichOneof("discount") != member:
        problems.add(f"{path}.{member}", "required with this `discount_type` (and no other)")
        return Discount(target, AmountKind.FIXED_PRICE, Decimal(0))
    # The placeholder of an amount that does not parse (reported) passes every amount check.
    value = parse_decimal(
        problems, f"{path}.{member}", getattr(discount, member), placeholder=Decimal(1)
    )
    return Discount(target, kind, value)


def definition_from_proto(
    problems: Violations, prefix: str, rule: pb.DiscountRule, *, creating: bool
) -> RuleDefinition:
    """Every definition field of `rule` (an update then picks the ones its mask names).

    `active` unset means true on create (Wix's default) and false on update (a named field left
    unset is cleared)."""
    if creating:
        for name in _OUTPUT_ONLY:
            message: Message = rule
            if message.HasField(name) if name in _MESSAGE_FIELDS else getattr(rule, name):
                problems.add(f"{prefix}{name}", "output only: leave it empty")
    window = rule.active_time_info
    applies_to = AppliesTo.ALL_ITEMS
    if rule.settings.applies_to:
        try:
            applies_to = AppliesTo(rule.settings.applies_to)
        except ValueError:
            problems.add(f"{prefix}settings.applies_to", "not a known APPLIES_TO_* value")
    trigger = (
        trigger_from_proto(problems, f"{prefix}trigger", rule.trigger)
        if rule.HasField("trigger")
        else None
    )
    return RuleDefinition(
        name=rule.name,
        active=rule.active if rule.HasField("active") else creating,
        start=optional_time(window, "start"),
        end=optional_time(window, "end"),
        trigger=trigger,
        discounts=tuple(
            _discount(problems, f"{prefix}discounts.values[{i}]", d)
            for i, d in enumerate(rule.discounts.values)
        ),
        applies_to=applies_to,
        usage_limit=rule.settings.usage_limit if rule.settings.HasField("usage_limit") else None,
    )


def set_fields(rule: pb.DiscountRule) -> frozenset[str]:
    """The update paths of the fields set in `rule` (an empty mask means these, AIP-134)."""
    paths = set()
    if rule.name:
        paths.add("name")
    for name in ("active", "active_time_info", "trigger", "discounts", "settings"):
        if rule.HasField(name):
            paths.add(name)
    return frozenset(paths)


# -- domain -> proto -----------------------------------------------------------------------------


def trigger_to_proto(trigger: Trigger) -> pb.DiscountTrigger:
    message = pb.DiscountTrigger(
        trigger_type=pb.DiscountTrigger.TriggerType.ValueType(int(trigger_kind(trigger)))
    )
    if isinstance(trigger, AllOf):
        message.all_of.triggers.extend(trigger_to_proto(t) for t in trigger.triggers)
        message.all_of.SetInParent()
    elif isinstance(trigger, AnyOf):
        message.any_of.triggers.extend(trigger_to_proto(t) for t in trigger.triggers)
        message.any_of.SetInParent()
    elif isinstance(trigger, SubtotalRange):
        node = message.subtotal_range
        node.scopes.extend(_scopes(trigger.scopes))
        node.min = decimal_text(trigger.minimum) if trigger.minimum is not None else ""
        node.max = decimal_text(trigger.maximum) if trigger.maximum is not None else ""
        node.SetInParent()
    elif isinstance(trigger, QuantityRange):
        quantity = message.item_quantity_range
        quantity.scopes.extend(_scopes(trigger.scopes))
        quantity.min, quantity.max = trigger.minimum, trigger.maximum
        quantity.SetInParent()
    else:
        message.custom.id, message.custom.app_id = trigger.id, trigger.app_id
    return message


def _scopes(scopes: Iterable[Scope]) -> list[pb.Scope]:
    return [scope_to_proto(scope) for scope in scopes]


def discount_to_proto(discount: Discount) -> pb.Discount:
    message = pb.Discount(discount_type=pb.Discount.DiscountType.ValueType(int(discount.kind)))
    setattr(message, _AMOUNT_MEMBERS[discount.kind], decimal_text(discount.value))
    target = discount.target
    if isinstance(target, SpecificItems):
        message.target_type = pb.Discount.TARGET_TYPE_SPECIFIC_ITEMS
        message.specific_items_info.scopes.extend(_scopes(target.scopes))
        message.specific_items_info.SetInParent()
    else:
        message.target_type = pb.Discount.TARGET_TYPE_BUY_X_GET_Y
        offer = message.buy_x_get_y_info
        offer.customer_buys.quantity = target.buy_quantity
        offer.customer_buys.scopes.extend(_scopes(target.buy_scopes))
        offer.customer_gets.quantity = target.get_quantity
        offer.customer_gets.scopes.extend(_scopes(target.get_scopes))
        offer.limit = target.limit
    return message


def definition_to_proto(definition: RuleDefinition) -> pb.DiscountRule:
    """The merchant-defined fields only (what the store keeps as the rule's document)."""
    message = pb.DiscountRule(name=definition.name, active=definition.active)
    if definition.start is not None:
        message.active_time_info.start.CopyFrom(timestamp(definition.start))
    if definition.end is not None:
        message.active_time_info.end.CopyFrom(timestamp(definition.end))
    if definition.trigger is not None:
        message.trigger.CopyFrom(trigger_to_proto(definition.trigger))
    message.discounts.values.extend(discount_to_proto(d) for d in definition.discounts)
    message.settings.applies_to = pb.DiscountRuleSettings.AppliesTo.ValueType(
        int(definition.applies_to)
    )
    if definition.usage_limit is not None:
        message.settings.usage_limit = definition.usage_limit
    return message


def rule_to_proto(rule: Rule, now: datetime) -> pb.DiscountRule:
    """The full resource, with `status` derived at `now`."""
    message = definition_to_proto(rule.definition)
    message.id = rule.id
    message.revision = rule.revision
    message.usage_count = rule.usage_count
    message.status = pb.DiscountRuleStatus.ValueType(
        int(rule_status(rule.definition, rule.usage_count, now))
    )
    message.created_date.CopyFrom(timestamp(rule.created))
    message.updated_date.CopyFrom(timestamp(rule.updated))
    return message


def definition_from_document(document: bytes) -> RuleDefinition:
    """A stored document back into a definition (it was valid when stored)."""
    problems = Violations()
    message = pb.DiscountRule.FromString(document)
    definition = definition_from_proto(problems, "", message, creating=False)
    problems.raise_if_any()
    return definition

"""The event types the suite publishes, and validation of the `types` filters that name them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.platform.errors import Violations

#: Every `Event.type` of the contract (CONTRACT.md, ecom/events/v1/event.proto).
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "ecom.cart.v1.cart_created",
        "ecom.cart.v1.cart_updated",
        "ecom.cart.v1.cart_deleted",
        "ecom.checkout.v1.checkout_created",
        "ecom.checkout.v1.checkout_updated",
        "ecom.checkout.v1.checkout_completed",
        "ecom.checkout.v1.abandoned_checkout_created",
        "ecom.checkout.v1.abandoned_checkout_recovered",
        "ecom.orders.v1.order_created",
        "ecom.orders.v1.order_updated",
        "ecom.orders.v1.order_approved",
        "ecom.orders.v1.order_canceled",
        "ecom.orders.v1.order_payment_status_updated",
        "ecom.orders.v1.order_transactions_updated",
        "ecom.fulfillment.v1.fulfillments_updated",
        "ecom.discounts.v1.discount_rule_created",
        "ecom.discounts.v1.discount_rule_updated",
        "ecom.discounts.v1.discount_rule_deleted",
        "ecom.discounts.v1.discount_rule_usage_limit_reached",
    }
)
MAX_TYPES = 50
_ENTRY = re.compile(r"^[a-z0-9_.]+$")


def check_types(types: Sequence[str], field: str, violations: Violations) -> None:
    """Record a violation for each entry that is malformed or can never match."""
    if len(types) > MAX_TYPES:
        violations.add(field, f"at most {MAX_TYPES} entries")
        return
    for index, entry in enumerate(types):
        path = f"{field}[{index}]"
        if not _ENTRY.match(entry):
            violations.add(path, "only lowercase letters, digits, '_' and '.' are allowed")
        elif entry.endswith("."):
            if not any(known.startswith(entry) for known in EVENT_TYPES):
                violations.add(path, f"prefix {entry!r} matches no event type")
        elif entry not in EVENT_TYPES:
            violations.add(path, f"{entry!r} is not an event type the suite publishes")

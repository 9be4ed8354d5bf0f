"""The field masks of UpdateOrder and UpdateOrderLineItem: which paths may change, and applying
them (a path whose field is unset in the input clears it)."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message

from ecom.orders.v1 import order_pb2
from services.platform import errors, inputs

ORDER_PATHS = frozenset(
    {
        "buyer_info.email",
        "recipient_info",
        "recipient_info.address",
        "recipient_info.contact_details",
        "shipping_info.logistics.shipping_destination",
        "shipping_info.logistics.shipping_destination.address",
        "shipping_info.logistics.shipping_destination.contact_details",
        "seen_by_a_human",
    }
)
LINE_PATHS = frozenset(
    {
        "product_name",
        "image",
        "description_lines",
        "physical_properties",
        "physical_properties.weight",
        "physical_properties.sku",
        "physical_properties.shippable",
        "item_type",
        "fulfiller_id",
    }
)
SHIPPING_DESTINATION = "shipping_info.logistics.shipping_destination"


def check_paths(
    paths: Sequence[str], allowed: frozenset[str], problems: errors.Violations
) -> tuple[str, ...]:
    if not paths:
        problems.add("update_mask", "required: at least one path")
    for index, path in enumerate(paths):
        if path not in allowed:
            problems.add(
                f"update_mask.paths[{index}]",
                f"{path!r} cannot be changed; allowed: {', '.join(sorted(allowed))}",
            )
    return tuple(dict.fromkeys(paths))


def check_email(email: str, path: str, problems: errors.Violations) -> None:
    """An update may change the buyer's email but not remove it."""
    if not email:
        problems.add(path, "required: the buyer's email cannot be removed")
    else:
        inputs.check_email(problems, path, email)


def apply(paths: Sequence[str], source: Message, target: Message) -> None:
    """Copy the masked fields of `source` into `target`; a field unset in `source` (or under an
    unset parent) is cleared in `target` (AIP-134)."""
    for path in paths:
        *parents, leaf = path.split(".")
        given: Message | None = source
        destination = target
        for name in parents:
            if given is not None:
                given = getattr(given, name) if given.HasField(name) else None
            destination = getattr(destination, name)
        field = destination.DESCRIPTOR.fields_by_name[leaf]
        if field.is_repeated:
            values = getattr(destination, leaf)
            del values[:]
            if given is not None:
                values.extend(getattr(given, leaf))
        elif field.message_type is not None:
            if given is not None and given.HasField(leaf):
                getattr(destination, leaf).CopyFrom(getattr(given, leaf))
            else:
                destination.ClearField(leaf)
        elif given is not None:
            setattr(destination, leaf, getattr(given, leaf))
        else:
            destination.ClearField(leaf)


def shipping_destination(order: order_pb2.Order) -> bytes:
    return order.shipping_info.logistics.shipping_destination.SerializeToString(deterministic=True)

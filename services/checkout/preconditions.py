"""CreateOrder's preconditions, checked in the order the proto lists them; the first that fails
is the error (FAILED_PRECONDITION with its own reason and, where it concerns a field, a field
violation). Pure: it reads a calculated checkout and nothing else."""

from __future__ import annotations

from decimal import Decimal

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import calculation_pb2, catalog_pb2
from services.platform.errors import FailedPrecondition, FieldViolation
from services.pricing import InvalidAmountError, parse_amount

_AVAILABLE = catalog_pb2.AVAILABILITY_STATUS_AVAILABLE
_ERROR = calculation_pb2.VIOLATION_SEVERITY_ERROR


def _amount(text: str) -> Decimal:
    try:
        return parse_amount(text or "0")
    except InvalidAmountError:
        return Decimal(0)


def ships(checkout: checkout_pb2.Checkout) -> bool:
    return any(line.physical_properties.shippable for line in checkout.line_items)


def is_pickup(checkout: checkout_pb2.Checkout) -> bool:
    selected = checkout.shipping_info.selected_carrier_service_option
    return selected.logistics.HasField("pickup_details")


def has_option(checkout: checkout_pb2.Checkout) -> bool:
    return bool(checkout.shipping_info.selected_carrier_service_option.code)


def blocking_areas(checkout: checkout_pb2.Checkout) -> list[str]:
    """Names of the CalculationErrors fields that block an order: every area that is set, but a
    carrier error counts only when it is the selected option's carrier (or none is selected)."""
    errors = checkout.calculation_errors
    selected = checkout.shipping_info.selected_carrier_service_option.carrier_id
    areas: list[str] = []
    present = {descriptor.name for descriptor, _ in errors.ListFields()}
    for descriptor in calculation_pb2.CalculationErrors.DESCRIPTOR.fields:
        name = descriptor.name
        if name not in present:
            continue
        if name == "carrier_errors" and not any(
            not selected or error.carrier_id == selected for error in errors.carrier_errors
        ):
            continue
        areas.append(name)
    return areas


def check(checkout: checkout_pb2.Checkout, expected_total: str) -> None:
    """Raise the first failing precondition (CHECKOUT_ALREADY_COMPLETED is the caller's)."""
    if not checkout.line_items:
        raise FailedPrecondition(
            "NO_LINE_ITEMS",
            "the checkout has no lines",
            violations=[FieldViolation("line_items", "the checkout has no lines")],
        )
    unavailable = [
        (index, line)
        for index, line in enumerate(checkout.line_items)
        if line.availability.status != _AVAILABLE
    ]
    if unavailable:
        raise FailedPrecondition(
            "LINE_ITEMS_NOT_AVAILABLE",
            "some lines are not available: "
            + ", ".join(line.product_name.original or line.id for _, line in unavailable),
            metadata={"line_item_ids": ",".join(line.id for _, line in unavailable)},
            violations=[
                FieldViolation(
                    f"line_items[{index}].availability",
                    f"{catalog_pb2.AvailabilityStatus.Name(line.availability.status)}"
                    f" for quantity {line.quantity}",
                )
                for index, line in unavailable
            ],
        )
    total = _amount(checkout.price_summary.total.amount)
    if total > 0 and not checkout.billing_info.address.country:
        raise FailedPrecondition(
            "BILLING_ADDRESS_REQUIRED",
            "a billing address is required",
            violations=[FieldViolation("billing_info.address", "a country is required")],
        )
    if ships(checkout):
        destination = checkout.shipping_info.shipping_destination.address.country
        if not is_pickup(checkout) and not destination:
            raise FailedPrecondition(
                "SHIPPING_DESTINATION_REQUIRED",
                "a shipping destination is required",
                violations=[
                    FieldViolation("shipping_info.shipping_destination", "a country is required")
                ],
            )
        if not has_option(checkout):
            raise FailedPrecondition(
                "SHIPPING_OPTION_REQUIRED",
                "no shipping option is available for the destination",
                violations=[
                    FieldViolation(
                        "shipping_info.selected_carrier_service_option",
                        "no carrier offers an option",
                    )
                ],
            )
    areas = blocking_areas(checkout)
    if areas:
        raise FailedPrecondition(
            "CALCULATION_ERRORS",
            "the checkout could not be calculated completely: " + ", ".join(areas),
            metadata={"areas": ",".join(areas)},
            violations=[
                FieldViolation(f"calculation_errors.{area}", "see the checkout") for area in areas
            ],
        )
    errors = [v for v in checkout.violations if v.severity == _ERROR]
    if errors:
        raise FailedPrecondition(
            "VIOLATIONS",
            "the checkout breaks business rules: " + "; ".join(v.description for v in errors),
            metadata={"violation_count": str(len(errors))},
        )
    if expected_total and _amount(expected_total) != total:
        raise FailedPrecondition(
            "TOTAL_CHANGED",
            f"the total is now {checkout.price_summary.total.amount}",
            metadata={"total": checkout.price_summary.total.amount},
        )

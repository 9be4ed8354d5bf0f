"""CreateOrder's preconditions: each reason, in the proto's order, from a calculated checkout."""

from __future__ import annotations

import pytest

from ecom.checkout.v1 import checkout_pb2
from ecom.common.v1 import calculation_pb2, catalog_pb2
from services.checkout import preconditions
from services.platform.errors import FailedPrecondition

AVAILABLE = catalog_pb2.AVAILABILITY_STATUS_AVAILABLE


def ready(total: str = "10.00", *, ships: bool = True) -> checkout_pb2.Checkout:
    checkout = checkout_pb2.Checkout(id="c1")
    line = checkout.line_items.add(id="l1", quantity=1)
    line.availability.status = AVAILABLE
    line.physical_properties.shippable = ships
    checkout.price_summary.total.amount = total
    checkout.billing_info.address.country = "US"
    checkout.shipping_info.shipping_destination.address.country = "US"
    selected = checkout.shipping_info.selected_carrier_service_option
    selected.carrier_id, selected.code = "ship", "standard"
    return checkout


def reason_of(checkout: checkout_pb2.Checkout, expected_total: str = "") -> FailedPrecondition:
    with pytest.raises(FailedPrecondition) as caught:
        preconditions.check(checkout, expected_total)
    return caught.value


def test_a_ready_checkout_passes() -> None:
    preconditions.check(ready(), "10.0")


def test_no_lines() -> None:
    checkout = ready()
    del checkout.line_items[:]
    error = reason_of(checkout)
    assert error.reason == "NO_LINE_ITEMS"
    assert [v.field for v in error.violations] == ["line_items"]


def test_unavailable_lines_are_listed_with_their_index() -> None:
    checkout = ready()
    short = checkout.line_items.add(id="l2", quantity=3)
    short.availability.status = catalog_pb2.AVAILABILITY_STATUS_PARTIALLY_AVAILABLE
    gone = checkout.line_items.add(id="l3", quantity=1)
    gone.availability.status = catalog_pb2.AVAILABILITY_STATUS_NOT_FOUND
    error = reason_of(checkout)
    assert error.reason == "LINE_ITEMS_NOT_AVAILABLE"
    assert error.metadata == {"line_item_ids": "l2,l3"}
    assert [v.field for v in error.violations] == [
        "line_items[1].availability",
        "line_items[2].availability",
    ]


def test_billing_is_needed_only_for_a_positive_total() -> None:
    checkout = ready()
    checkout.ClearField("billing_info")
    assert reason_of(checkout).reason == "BILLING_ADDRESS_REQUIRED"
    checkout.price_summary.total.amount = "0.00"
    preconditions.check(checkout, "")


def test_shipping_needs_a_destination_unless_picked_up() -> None:
    checkout = ready()
    checkout.shipping_info.ClearField("shipping_destination")
    assert reason_of(checkout).reason == "SHIPPING_DESTINATION_REQUIRED"
    pickup = checkout.shipping_info.selected_carrier_service_option.logistics.pickup_details
    pickup.address.country = "US"
    preconditions.check(checkout, "")


def test_shipping_needs_an_option() -> None:
    checkout = ready()
    checkout.shipping_info.ClearField("selected_carrier_service_option")
    error = reason_of(checkout)
    assert error.reason == "SHIPPING_OPTION_REQUIRED"
    assert [v.field for v in error.violations] == ["shipping_info.selected_carrier_service_option"]
    preconditions.check(ready(ships=False), "")  # nothing ships: no option needed


def test_calculation_errors_block_except_other_carriers() -> None:
    checkout = ready()
    checkout.calculation_errors.carrier_errors.add(
        carrier_id="other", error=calculation_pb2.CalculationError(code="PROVIDER_TIMEOUT")
    )
    preconditions.check(checkout, "")  # another carrier's problem does not matter
    checkout.calculation_errors.carrier_errors.add(
        carrier_id="ship", error=calculation_pb2.CalculationError(code="PROVIDER_ERROR")
    )
    checkout.calculation_errors.coupon_calculation_error.code = "COUPON_NOT_FOUND"
    error = reason_of(checkout)
    assert error.reason == "CALCULATION_ERRORS"
    assert error.metadata == {"areas": "carrier_errors,coupon_calculation_error"}
    assert [v.field for v in error.violations] == [
        "calculation_errors.carrier_errors",
        "calculation_errors.coupon_calculation_error",
    ]


def test_error_violations_block_and_warnings_do_not() -> None:
    checkout = ready()
    checkout.violations.add(severity=calculation_pb2.VIOLATION_SEVERITY_WARNING, description="w")
    preconditions.check(checkout, "")
    checkout.violations.add(severity=calculation_pb2.VIOLATION_SEVERITY_ERROR, description="e")
    error = reason_of(checkout)
    assert (error.reason, error.metadata) == ("VIOLATIONS", {"violation_count": "1"})


def test_the_expected_total_is_compared_as_a_decimal() -> None:
    preconditions.check(ready("10.50"), "10.5")
    error = reason_of(ready("10.50"), "10.49")
    assert (error.reason, error.metadata) == ("TOTAL_CHANGED", {"total": "10.50"})


def test_the_first_failing_precondition_wins() -> None:
    checkout = ready()
    checkout.ClearField("billing_info")
    checkout.line_items[0].availability.status = catalog_pb2.AVAILABILITY_STATUS_NOT_AVAILABLE
    checkout.violations.add(severity=calculation_pb2.VIOLATION_SEVERITY_ERROR)
    assert reason_of(checkout, "1").reason == "LINE_ITEMS_NOT_AVAILABLE"

import pytest
from google.rpc import code_pb2, error_details_pb2

from services.platform import errors
from services.platform.status import to_status_proto


def _details(status, kind):  # type: ignore[no-untyped-def]
    found = []
    for detail in status.details:
        message = kind()
        if detail.Unpack(message):
            found.append(message)
    return found


def test_invalid_argument_carries_every_field_violation() -> None:
    violations = errors.Violations()
    violations.add("line_items[0].quantity", "must be 1..100000")
    violations.add("currency", "unknown currency")
    try:
        violations.raise_if_any()
    except errors.InvalidArgument as exc:
        status = to_status_proto(exc, "ecom.cart.v1")
    assert status.code == code_pb2.INVALID_ARGUMENT
    (bad_request,) = _details(status, error_details_pb2.BadRequest)
    assert [v.field for v in bad_request.field_violations] == ["line_items[0].quantity", "currency"]


def test_failed_precondition_carries_reason_domain_and_metadata() -> None:
    exc = errors.FailedPrecondition(
        "INSUFFICIENT_INVENTORY", "not enough stock", metadata={"item": "sku-1"}
    )
    status = to_status_proto(exc, "ecom.checkout.v1")
    assert status.code == code_pb2.FAILED_PRECONDITION
    (info,) = _details(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INSUFFICIENT_INVENTORY",
        "ecom.checkout.v1",
        {"item": "sku-1"},
    )


def test_revision_mismatch_is_aborted_with_current_revision() -> None:
    status = to_status_proto(errors.RevisionMismatch("cart", 3, 5), "ecom.cart.v1")
    assert status.code == code_pb2.ABORTED
    (info,) = _details(status, error_details_pb2.ErrorInfo)
    assert info.reason == "REVISION_MISMATCH"
    assert info.metadata["current_revision"] == "5"


def test_unavailable_carries_retry_info() -> None:
    exc = errors.Unavailable("DATABASE_UNAVAILABLE", "db down", retry_after_s=2.5)
    status = to_status_proto(exc, "ecom.orders.v1")
    assert status.code == code_pb2.UNAVAILABLE
    (retry,) = _details(status, error_details_pb2.RetryInfo)
    assert retry.retry_delay.ToMilliseconds() == 2500


def test_any_reasoned_error_may_ask_for_a_retry_later() -> None:
    exc = errors.Conflict("ORDER_CREATION_IN_PROGRESS", "busy", retry_after_s=0.25)
    status = to_status_proto(exc, "ecom.checkout.v1")
    assert status.code == code_pb2.ABORTED
    (retry,) = _details(status, error_details_pb2.RetryInfo)
    assert retry.retry_delay.ToMilliseconds() == 250
    plain = to_status_proto(errors.Conflict("X", "busy"), "ecom.checkout.v1")
    assert _details(plain, error_details_pb2.RetryInfo) == []


def test_check_revision_ignores_zero() -> None:
    errors.check_revision("cart", 0, 7)
    errors.check_revision("cart", 7, 7)


def test_extra_details_follow_the_error_info_in_order() -> None:
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromMilliseconds(1500)
    help_link = error_details_pb2.Help(
        links=[error_details_pb2.Help.Link(description="stock", url="https://example.com/s")]
    )
    exc = errors.FailedPrecondition(
        "INSUFFICIENT_INVENTORY", "short", metadata={"id": "r-1"}, details=[help_link, retry]
    )
    status = to_status_proto(exc, "ecom.spi.inventory.v1")
    names = [detail.TypeName() for detail in status.details]
    assert names == ["google.rpc.ErrorInfo", "google.rpc.Help", "google.rpc.RetryInfo"]
    assert _details(status, error_details_pb2.Help) == [help_link]
    assert _details(status, error_details_pb2.RetryInfo) == [retry]


def test_reasoned_errors_have_no_extra_details_by_default() -> None:
    status = to_status_proto(errors.NotFound("CART_NOT_FOUND", "no cart"), "ecom.cart.v1")
    assert [detail.TypeName() for detail in status.details] == ["google.rpc.ErrorInfo"]


def test_invalid_argument_without_a_reason_has_no_error_info() -> None:
    status = to_status_proto(errors.InvalidArgument.of("currency", "unknown"), "ecom.cart.v1")
    assert [detail.TypeName() for detail in status.details] == ["google.rpc.BadRequest"]
    assert status.message == "currency: unknown"


def test_invalid_argument_with_a_reason_adds_error_info_after_the_bad_request() -> None:
    exc = errors.InvalidArgument(
        errors.FieldViolation("filter.created_date", "too wide"),
        reason="TOO_MANY_BUCKETS",
        message="the result would exceed 1000 buckets",
        metadata={"limit": "1000"},
    )
    status = to_status_proto(exc, "ecom.orders.v1")
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message == "the result would exceed 1000 buckets"
    assert [detail.TypeName() for detail in status.details] == [
        "google.rpc.BadRequest",
        "google.rpc.ErrorInfo",
    ]
    (bad_request,) = _details(status, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("filter.created_date", "too wide")
    ]
    (info,) = _details(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "TOO_MANY_BUCKETS",
        "ecom.orders.v1",
        {"limit": "1000"},
    )


def test_invalid_argument_metadata_needs_a_reason() -> None:
    with pytest.raises(ValueError):
        errors.InvalidArgument(errors.FieldViolation("x", "bad"), metadata={"limit": "1"})

"""The one mapping from domain errors to gRPC status with `google.rpc` details (AIP-193)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.platform import errors

#: ErrorInfo.domain of errors the platform itself raises (auth, idempotency, revisions).
PLATFORM_DOMAIN = "ecom.platform"

_CODES: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (errors.NotFound, code_pb2.NOT_FOUND),
    (errors.AlreadyExists, code_pb2.ALREADY_EXISTS),
    (errors.FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (errors.PermissionDenied, code_pb2.PERMISSION_DENIED),
    (errors.ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (errors.OutOfRange, code_pb2.OUT_OF_RANGE),
    (errors.Unauthenticated, code_pb2.UNAUTHENTICATED),
    (errors.Unavailable, code_pb2.UNAVAILABLE),
    (errors.DeadlineExceeded, code_pb2.DEADLINE_EXCEEDED),
    (errors.RevisionMismatch, code_pb2.ABORTED),
    (errors.Conflict, code_pb2.ABORTED),
)


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status_proto(exc: errors.DomainError, domain: str) -> status_pb2.Status:
    """Build the `google.rpc.Status` for a domain error raised by a service of `domain`."""
    code = next((c for kind, c in _CODES if isinstance(exc, kind)), code_pb2.UNKNOWN)
    status = status_pb2.Status(code=code, message=exc.message)
    violations: tuple[errors.FieldViolation, ...] = getattr(exc, "violations", ())
    if violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in violations
            ]
        )
        status.details.append(_pack(bad_request))
    if isinstance(exc, errors.ReasonedError):
        info = error_details_pb2.ErrorInfo(
            reason=exc.reason, domain=domain, metadata=dict(exc.metadata)
        )
        status.details.append(_pack(info))
        status.details.extend(_pack(detail) for detail in exc.details)
    elif isinstance(exc, errors.InvalidArgument) and exc.reason is not None:
        info = error_details_pb2.ErrorInfo(
            reason=exc.reason, domain=domain, metadata=dict(exc.metadata)
        )
        status.details.append(_pack(info))
    elif isinstance(exc, errors.RevisionMismatch):
        info = error_details_pb2.ErrorInfo(
            reason=exc.reason,
            domain=domain,
            metadata={"current_revision": str(exc.current), "resource": exc.resource},
        )
        status.details.append(_pack(info))
    if isinstance(exc, errors.ReasonedError) and exc.retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(exc.retry_after_s * 1000))
        status.details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status


def to_grpc_status(exc: errors.DomainError, domain: str) -> grpc.Status:
    return rpc_status.to_status(to_status_proto(exc, domain))


def internal_status(request_id: str) -> grpc.Status:
    """INTERNAL with a generic message: the detail stays in the server log."""
    return rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INTERNAL,
            message=f"internal error; quote request id {request_id} to the operator",
        )
    )


def infrastructure_error(exc: BaseException) -> errors.DomainError | None:
    """Translate a dependency's own exception (database or Redis down) into UNAVAILABLE."""
    import redis.exceptions
    import sqlalchemy.exc

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return errors.Unavailable("REDIS_UNAVAILABLE", "the session or event store is unreachable")
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError) or (
        isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated
    ):
        return errors.Unavailable("DATABASE_UNAVAILABLE", "the database is unreachable")
    return None

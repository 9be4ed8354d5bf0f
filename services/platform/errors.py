"""Domain errors: what a rule or a store can refuse, in plain Python.

Domain and store code raise these; one mapping in `services.platform.status` turns them into
gRPC status codes with `google.rpc` details (AIP-193). Nothing here imports grpc, so domain
modules stay free of transport concerns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from google.protobuf.message import Message


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: `field` is a dotted path (`line_items[2].quantity`)."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a caller can cause or a dependency can raise."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request itself is malformed: INVALID_ARGUMENT with BadRequest field violations.

    Most bad input needs nothing more. Where a contract names a reason for one kind of bad input
    (BUYER_EMAIL_CANNOT_BE_REMOVED, TOO_MANY_BUCKETS), `reason` adds an ErrorInfo with it and
    `metadata` after the BadRequest, and `message` replaces the summary of the violations.
    """

    def __init__(
        self,
        violations: Iterable[FieldViolation] | FieldViolation,
        *,
        reason: str | None = None,
        message: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = tuple(violations)
        self.reason = reason
        self.metadata = dict(metadata or {})
        if metadata and reason is None:
            raise ValueError("InvalidArgument metadata travels in an ErrorInfo: give a reason")
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(message or summary or "invalid argument")

    @classmethod
    def of(cls, field_path: str, description: str) -> InvalidArgument:
        return cls(FieldViolation(field_path, description))


class Violations:
    """Collects field violations so a request reports all its problems at once."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field_path: str, description: str) -> None:
        self._items.append(FieldViolation(field_path, description))

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidArgument(self._items)


class ReasonedError(DomainError):
    """An error with an ErrorInfo reason (UPPER_SNAKE_CASE), string metadata and, where the
    problem concerns request fields, field violations.

    `details` are further typed messages a contract promises next to the ErrorInfo (such as
    `ecom.spi.inventory.v1.InsufficientInventory`); the status mapping packs each one into
    `google.rpc.Status.details` after the ErrorInfo, in order. `retry_after_s`, when set, becomes
    a `google.rpc.RetryInfo`: the error is worth retrying after that delay.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        violations: Iterable[FieldViolation] = (),
        details: Sequence[Message] = (),
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.violations = tuple(violations)
        self.details = tuple(details)
        self.retry_after_s = retry_after_s


class NotFound(ReasonedError):
    """NOT_FOUND; `reason` names what is missing (`CART_NOT_FOUND`, `OWNED_CART_NOT_FOUND`)."""


class AlreadyExists(ReasonedError):
    """ALREADY_EXISTS: a unique key is taken (`COUPON_CODE_TAKEN`, `REQUEST_ID_REUSED`)."""


class FailedPrecondition(ReasonedError):
    """FAILED_PRECONDITION: the request is well formed but the resource's state forbids it."""


class PermissionDenied(ReasonedError):
    """PERMISSION_DENIED: the caller is known but may not do this."""


class ResourceExhausted(ReasonedError):
    """RESOURCE_EXHAUSTED: a per-site quota is used up (`PROVIDER_LIMIT_REACHED`)."""


class OutOfRange(ReasonedError):
    """OUT_OF_RANGE: a position (cursor, page) lies outside what exists (`CURSOR_EXPIRED`)."""


class Unauthenticated(DomainError):
    """UNAUTHENTICATED: no valid credentials."""


class Unavailable(ReasonedError):
    """UNAVAILABLE: a dependency is down; always carries RetryInfo (1 s unless told)."""

    retry_after_s: float

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        retry_after_s: float = 1.0,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(reason, message, metadata=metadata, retry_after_s=retry_after_s)


class DeadlineExceeded(ReasonedError):
    """DEADLINE_EXCEEDED: a dependency did not answer in time."""


class RevisionMismatch(DomainError):
    """ABORTED: the caller wrote against a revision that is no longer current."""

    reason = "REVISION_MISMATCH"

    def __init__(self, resource: str, expected: int, current: int) -> None:
        super().__init__(f"{resource} revision {expected} is stale; current revision is {current}")
        self.resource = resource
        self.expected = expected
        self.current = current


class Conflict(ReasonedError):
    """ABORTED for a concurrency conflict other than a revision (retry the whole call)."""


def check_revision(resource: str, expected: int, current: int) -> None:
    """Raise RevisionMismatch when the caller named a revision (non-zero) that is not current."""
    if expected and expected != current:
        raise RevisionMismatch(resource, expected, current)

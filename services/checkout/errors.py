"""Errors the checkout contract names that the platform has no class for."""

from __future__ import annotations

from collections.abc import Iterable

from services.platform.errors import DomainError, FieldViolation, InvalidArgument, ReasonedError


class ReasonedInvalidArgument(InvalidArgument, ReasonedError):
    """INVALID_ARGUMENT that also carries an ErrorInfo reason (BUYER_EMAIL_CANNOT_BE_REMOVED):
    the status mapping picks the code by the first matching class (InvalidArgument) and adds the
    ErrorInfo because it is a ReasonedError."""

    def __init__(self, reason: str, message: str, violations: Iterable[FieldViolation]) -> None:
        # Both parents' __init__ take other arguments; set what each of them would.
        DomainError.__init__(self, message)
        self.violations = tuple(violations)
        self.reason = reason
        self.metadata: dict[str, str] = {}
        self.details = ()

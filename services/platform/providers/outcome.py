"""`Outcome`: how one provider call ended, as data the caller turns into `calculation_errors`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

from ecom.common.v1 import calculation_pb2
from services.platform.providers.ref import ProviderRef

T = TypeVar("T", bound=Message)

#: CalculationError codes of failed provider calls (ecom.common.v1.CalculationError.code).
PROVIDER_TIMEOUT = "PROVIDER_TIMEOUT"
PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
PROVIDER_ERROR = "PROVIDER_ERROR"

#: `Outcome.reason` when the call was skipped because the provider's breaker is open.
REASON_CIRCUIT_OPEN = "CIRCUIT_OPEN"


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """Either `response` (ok) or a failure `code` with a `message`; never both."""

    ref: ProviderRef
    response: T | None = None
    code: str = ""
    message: str = ""
    #: Finer cause of a failure: the provider's gRPC status name ("UNAVAILABLE"), or
    #: CIRCUIT_OPEN when the call was skipped.
    reason: str = ""
    latency_s: float = 0.0
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        return self.response is not None

    @property
    def skipped(self) -> bool:
        """True when no call went out because the circuit breaker is open."""
        return self.reason == REASON_CIRCUIT_OPEN

    def unwrap(self) -> T:
        if self.response is None:
            raise ValueError(f"provider {self.ref.app_id} failed: {self.code} {self.message}")
        return self.response

    def calculation_error(self) -> calculation_pb2.CalculationError:
        """The failure as a CalculationError naming the provider's app id."""
        if self.ok:
            raise ValueError("a successful outcome has no calculation error")
        return calculation_pb2.CalculationError(
            code=self.code, description=self.message, app_id=self.ref.app_id
        )

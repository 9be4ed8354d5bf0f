"""A client of the discounts service's usage RPCs (ReserveDiscountUsage, ReleaseDiscountUsage,
RecordDiscountUsage), for the checkout's order-placement saga, over
`runtime.peer_channel("discounts")` with the site's service token.

Answers become domain outcomes, never INTERNAL:
- a refusal to hold uses (FAILED_PRECONDITION: COUPON_USAGE_EXHAUSTED, DISCOUNT_RULE_NOT_LIVE...)
  is `UsageRefused`, a FailedPrecondition carrying the discounts service's reason and metadata,
  so the saga can answer with it as is;
- no answer (UNAVAILABLE, a deadline, a transport error) is `UsageUnavailable`, an Unavailable
  (retryable, with RetryInfo), reason DISCOUNTS_UNAVAILABLE (DISCOUNTS_ERROR for any other
  answer, a fault of the suite rather than of the buyer);
- release and record report success as a bool instead of raising: their callers (compensation,
  the background retry of an owed record) carry on either way and decide when to try again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from ecom.discounts.v1 import discount_rules_service_pb2_grpc as pb_grpc
from services.platform.errors import FailedPrecondition, Unavailable
from services.platform.peers import TRANSIENT_CODES, call_timeout, error_details

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("ecom.discounts.usage_client")

DISCOUNTS_UNAVAILABLE = "DISCOUNTS_UNAVAILABLE"
#: The discounts service answered with something other than a refusal that a retry would fix
#: (INVALID_ARGUMENT, PERMISSION_DENIED...): a fault of the suite, not of the buyer.
DISCOUNTS_ERROR = "DISCOUNTS_ERROR"
#: Per-call timeout when the caller has no deadline of its own (background work).
DEFAULT_TIMEOUT_S = 5.0
#: The call could not even be sent: no address for the peer, a channel closed at shutdown.
_NOT_SENT = (RuntimeError, grpc.aio.UsageError)


@dataclass(frozen=True)
class Usage:
    """What one order uses: the discount rules and the coupon code its price includes."""

    rule_ids: tuple[str, ...] = ()
    coupon_code: str = ""

    @classmethod
    def of(cls, rule_ids: Iterable[str], coupon_code: str) -> Usage:
        return cls(tuple(dict.fromkeys(r for r in rule_ids if r)), coupon_code.strip())

    def __bool__(self) -> bool:
        return bool(self.rule_ids or self.coupon_code)

    def to_json(self) -> dict[str, Any]:
        return {"rule_ids": list(self.rule_ids), "coupon_code": self.coupon_code}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Usage:
        if not raw:
            return cls()
        return cls.of([str(r) for r in raw.get("rule_ids", [])], str(raw.get("coupon_code", "")))


class UsageRefused(FailedPrecondition):
    """The discounts service will not hold the uses (a limit is reached, a coupon or rule is no
    longer usable); `reason` and `metadata` are the discounts service's."""


class UsageUnavailable(Unavailable):
    """The discounts service gave no answer that settles the call; nothing is known to be held."""


class UsageClient:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _stub(self) -> pb_grpc.DiscountRulesServiceStub:
        return pb_grpc.DiscountRulesServiceStub(self._runtime.peer_channel("discounts"))

    async def reserve(
        self, site: str, reservation_id: str, usage: Usage, *, remaining_s: float | None
    ) -> None:
        """Hold one use of each rule and of the coupon under `reservation_id` (idempotent: the
        same call again keeps the same holds). Raises UsageRefused or UsageUnavailable."""
        request = pb.ReserveDiscountUsageRequest(
            reservation_id=reservation_id,
            discount_rule_ids=list(usage.rule_ids),
            coupon_code=usage.coupon_code,
        )
        try:
            await self._stub().ReserveDiscountUsage(
                request,
                metadata=self._runtime.service_metadata(site),
                timeout=call_timeout(remaining_s, DEFAULT_TIMEOUT_S),
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.FAILED_PRECONDITION:
                reason, metadata, _ = error_details(exc)
                raise UsageRefused(
                    reason or "DISCOUNT_USAGE_REFUSED",
                    exc.details() or "the discounts service refused to hold the discount usage",
                    metadata=metadata,
                ) from None
            log.warning("ReserveDiscountUsage %s failed: %s", reservation_id, _describe(exc))
            raise UsageUnavailable(
                DISCOUNTS_UNAVAILABLE if exc.code() in TRANSIENT_CODES else DISCOUNTS_ERROR,
                f"the discounts service did not hold the discount usage: {exc.code().name}",
            ) from None
        except _NOT_SENT as exc:
            log.warning("ReserveDiscountUsage %s not sent: %r", reservation_id, exc)
            raise UsageUnavailable(
                DISCOUNTS_UNAVAILABLE, "the discounts service could not be called"
            ) from exc

    async def release(self, site: str, reservation_id: str, *, remaining_s: float | None) -> bool:
        """Give back what `reservation_id` holds; False when the service could not be reached
        (the holds then expire on their own)."""
        try:
            await self._stub().ReleaseDiscountUsage(
                pb.ReleaseDiscountUsageRequest(reservation_id=reservation_id),
                metadata=self._runtime.service_metadata(site),
                timeout=call_timeout(remaining_s, DEFAULT_TIMEOUT_S),
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("ReleaseDiscountUsage %s failed: %s", reservation_id, _describe(exc))
            return False
        except _NOT_SENT as exc:
            log.warning("ReleaseDiscountUsage %s not sent: %r", reservation_id, exc)
            return False
        return True

    async def record(
        self,
        site: str,
        order_id: str,
        reservation_id: str,
        usage: Usage,
        *,
        remaining_s: float | None,
    ) -> bool:
        """Count the order's uses (idempotent per order id); False when it must be tried again.
        A definitive refusal (the order's usage was recorded with other content) is logged for
        the operator and counts as done: repeating it would never succeed."""
        request = pb.RecordDiscountUsageRequest(
            order_id=order_id,
            reservation_id=reservation_id,
            discount_rule_ids=list(usage.rule_ids),
            coupon_code=usage.coupon_code,
        )
        try:
            await self._stub().RecordDiscountUsage(
                request,
                metadata=self._runtime.service_metadata(site),
                timeout=call_timeout(remaining_s, DEFAULT_TIMEOUT_S),
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in TRANSIENT_CODES:
                log.warning("RecordDiscountUsage of order %s failed: %s", order_id, _describe(exc))
                return False
            log.error(
                "RecordDiscountUsage of order %s refused for good: %s", order_id, _describe(exc)
            )
        except _NOT_SENT as exc:
            log.warning("RecordDiscountUsage of order %s not sent: %r", order_id, exc)
            return False
        return True


def _describe(exc: grpc.aio.AioRpcError) -> str:
    return f"{exc.code().name} {exc.details() or ''}".strip()

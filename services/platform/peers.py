"""What every caller of another suite service over gRPC needs: how long a call may take, which
answers mean "try again later", and the typed details of an error answer.

The channels themselves come from `Runtime.peer_channel`; the calls and what their answers mean
for the caller stay with each client (`services/checkout/peers.py`, `services/discounts/
client.py` ...).
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.platform.errors import FieldViolation

#: Never start a call with less than this left: it could not come back in time anyway.
MIN_CALL_TIMEOUT_S = 0.05

#: Answers after which the call may or may not have had its effect, or will work later: the
#: peer is down, slow, overloaded, restarting (CANCELLED at shutdown), broken (INTERNAL,
#: UNKNOWN), or not the version or configuration it should be (UNIMPLEMENTED, UNAUTHENTICATED:
#: a deployment fault that an operator fixes, not the caller's input). Idempotent calls are
#: retried after these; nothing is compensated on their account.
TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.UNAUTHENTICATED,
    }
)


def call_timeout(remaining_s: float | None, cap_s: float) -> float:
    """The timeout of one call: at most `cap_s`, never past the caller's remaining budget
    (None: no deadline), and at least `MIN_CALL_TIMEOUT_S`."""
    if remaining_s is None:
        return cap_s
    return max(min(cap_s, remaining_s), MIN_CALL_TIMEOUT_S)


def error_details(
    exc: grpc.aio.AioRpcError,
) -> tuple[str, dict[str, str], list[FieldViolation]]:
    """The ErrorInfo reason and metadata ("" and {} without one) and the BadRequest field
    violations of an error answer."""
    reason, metadata, violations = "", {}, []
    status = rpc_status.from_call(exc)
    for packed in status.details if status is not None else ():
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            violations = [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return reason, metadata, violations

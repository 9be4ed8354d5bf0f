"""`ProviderClient`: how the suite finds and calls providers (SPI implementations).

Finding: `providers(site, kind)` asks the provider registry (`ecom.providers.v1.
ProviderRegistryService/ListProviders`, over gRPC, never its tables, because cart and checkout may
run in other processes) and keeps the answer for a few seconds, so a busy cart does not ask the
registry on every change.

Calling: `call()` sends one unary RPC to a provider over a pooled channel with

- a deadline of the provider's timeout, or the caller's remaining time when that is shorter
  (pass it in: `remaining_s=context.time_remaining()`);
- the SPI metadata: `x-ecom-site`, `x-ecom-caller` (`<role>/<subject>` of the current caller, or
  `service/ecom-suite` for background work), `x-ecom-request-id`, `x-ecom-app-id`; and, only
  for the suite's own service addresses (the reference providers, which run behind the suite's
  interceptor), the site's service token in `authorization`: third parties never get a token
  that would be valid against the suite;
- its circuit breaker: a provider that failed too often in a row is skipped without a network
  call until its cool-down ends.

It never raises for a provider failure: the result is an `Outcome`, ok with the response or failed
with a CalculationError code (PROVIDER_TIMEOUT, PROVIDER_UNAVAILABLE, PROVIDER_ERROR), which the
caller turns into `calculation_errors`. `fan_out()` runs independent calls concurrently under one
deadline, so three providers of 300 ms cost 300 ms, not 900 ms.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import grpc
from google.protobuf.message import Message

from ecom.providers.v1 import (
    provider_pb2,
    provider_registry_service_pb2,
    provider_registry_service_pb2_grpc,
)
from services.platform.config import SERVICE_NAMES
from services.platform.errors import Unauthenticated, Unavailable
from services.platform.identity import current_caller, current_request_id
from services.platform.providers.breaker import (
    BreakerBoard,
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
)
from services.platform.providers.cache import ResponseCache, TTLCache
from services.platform.providers.channels import ChannelPool
from services.platform.providers.kinds import Kind
from services.platform.providers.outcome import (
    PROVIDER_ERROR,
    PROVIDER_TIMEOUT,
    PROVIDER_UNAVAILABLE,
    REASON_CIRCUIT_OPEN,
    Outcome,
)
from services.platform.providers.ref import MAX_TIMEOUT_S, ProviderRef

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

log = logging.getLogger("ecom.providers")

T = TypeVar("T", bound=Message)
M = TypeVar("M", bound=Message)

SITE_KEY = "x-ecom-site"
CALLER_KEY = "x-ecom-caller"
REQUEST_ID_KEY = "x-ecom-request-id"
APP_ID_KEY = "x-ecom-app-id"
#: The caller named for work no user caused (relays, sweepers); the service token's subject.
BACKGROUND_CALLER = "service/ecom-suite"

#: How long a provider list is reused. The registry promises changes apply within 5 s.
DEFAULT_LIST_TTL_S = 3.0
#: How long a provider list may be served past its TTL while the registry cannot be reached.
STALE_LIST_MAX_S = 300.0
_LIST_PAGE_SIZE = 100
#: A call needs at least this much time to be worth sending.
_MIN_TIMEOUT_S = 0.001

#: Who gets the site's service token in `authorization`: "suite" (default) only the suite's own
#: service addresses (the reference providers, which run behind the suite's interceptor), never a
#: third party, as the SPI contracts promise; "always" or "never" override that.
Credentials = Literal["suite", "always", "never"]

_FAILED_CODES = {
    grpc.StatusCode.DEADLINE_EXCEEDED: PROVIDER_TIMEOUT,
    grpc.StatusCode.UNAVAILABLE: PROVIDER_UNAVAILABLE,
}


@dataclass(frozen=True)
class ProviderCall(Generic[T]):
    """One independent call for `fan_out`: `method` is the full path `/pkg.Service/Rpc`."""

    ref: ProviderRef
    method: str
    request: Message
    response_type: type[T]
    cache: ResponseCache | None = None


class ProviderClient:
    """One per process (`Runtime.providers`): its channels, breakers and caches are shared by
    every service of the process that calls providers."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        breaker_policy: BreakerPolicy | None = None,
        list_ttl_s: float = DEFAULT_LIST_TTL_S,
        credentials: Credentials = "suite",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Imported here: the runtime may come to own the process's ProviderClient.
        from services.platform.runtime import channel_options

        self._runtime = runtime
        self._clock = clock
        self._credentials = credentials
        self.default_timeout_s = int(runtime.config["PROVIDER_TIMEOUT_MS"]) / 1000
        self.breakers = BreakerBoard(breaker_policy, clock)
        self.channels = ChannelPool(channel_options(runtime.config))
        self._lists: TTLCache[tuple[str, int], tuple[float, list[ProviderRef]]] = TTLCache(
            list_ttl_s, 10_000, clock
        )
        self._list_flights: dict[tuple[str, int], asyncio.Future[list[ProviderRef]]] = {}

    # -- finding providers ---------------------------------------------------------------

    async def providers(self, site: str, kind: Kind) -> list[ProviderRef]:
        """The enabled providers of `kind` on `site`, ordered by app id.

        Served from a short-lived cache; concurrent misses share one registry call. When the
        registry cannot be reached, the last known list (up to 5 minutes old) is served; with
        none, raises `Unavailable` (reason PROVIDER_REGISTRY_UNAVAILABLE).
        """
        key = (site, int(kind))
        cached = self._lists.get(key)
        if cached is not None:
            return list(cached[1])
        flight = self._list_flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._fetch_list(site, kind))
            self._list_flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        return list(await asyncio.shield(flight))

    def _landed(self, key: tuple[str, int], flight: asyncio.Future[list[ProviderRef]]) -> None:
        self._list_flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # mark retrieved: every waiter may have been cancelled

    def invalidate(self, site: str | None = None) -> None:
        """Forget cached provider lists (of one site), so the next call asks the registry."""
        if site is None:
            self._lists.invalidate()
        else:
            self._lists.invalidate(lambda key: key[0] == site)

    async def _fetch_list(self, site: str, kind: Kind) -> list[ProviderRef]:
        key = (site, int(kind))
        try:
            refs = await self._list_from_registry(site, kind)
        except grpc.aio.AioRpcError as exc:
            stale = self._lists.get_stale(key)
            if stale is not None and self._clock() - stale[0] <= STALE_LIST_MAX_S:
                log.warning("provider registry unreachable (%s); serving last list", exc.code())
                return stale[1]
            raise Unavailable(
                "PROVIDER_REGISTRY_UNAVAILABLE",
                f"the provider registry did not answer: {exc.code().name} {exc.details()}",
            ) from exc
        self._lists.put(key, (self._clock(), refs))
        return refs

    async def _list_from_registry(self, site: str, kind: Kind) -> list[ProviderRef]:
        stub = provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(
            self._runtime.peer_channel("providers")
        )
        request = provider_registry_service_pb2.ListProvidersRequest(
            filter=provider_registry_service_pb2.ProviderFilter(
                kinds=[provider_pb2.ProviderKind.ValueType(int(kind))], enabled=True
            ),
            page_size=_LIST_PAGE_SIZE,
        )
        refs: list[ProviderRef] = []
        while True:
            response = await stub.ListProviders(
                request,
                metadata=self._runtime.service_metadata(site),
                timeout=self.default_timeout_s,
            )
            refs.extend(self.ref_from_proto(site, provider) for provider in response.providers)
            if not response.next_page_token:
                return refs
            request.page_token = response.next_page_token

    def ref_from_proto(self, site: str, provider: provider_pb2.Provider) -> ProviderRef:
        timeout_s = provider.timeout.ToNanoseconds() / 1e9 or self.default_timeout_s
        return ProviderRef(
            id=provider.id,
            site=site,
            kind=Kind(provider.kind),
            app_id=provider.app_id,
            target=provider.target,
            timeout_s=min(timeout_s, MAX_TIMEOUT_S),
            tls=provider.tls,
            validate_in_cart=provider.validate_in_cart,
            enabled=provider.enabled if provider.HasField("enabled") else True,
            revision=provider.revision,
            settings=provider.settings,
        )

    # -- calling providers ---------------------------------------------------------------

    def breaker_state(self, ref: ProviderRef) -> BreakerState:
        return self.breakers.state(ref.breaker_key)

    def channel(self, ref: ProviderRef) -> grpc.aio.Channel:
        return self.channels.get(ref.target, tls=ref.tls)

    def metadata(
        self, ref: ProviderRef, *, as_service: bool = False
    ) -> tuple[tuple[str, str], ...]:
        """The metadata of a call to `ref` made on behalf of the current caller (or of the suite
        itself with `as_service`, as health probes are)."""
        caller_text = BACKGROUND_CALLER
        if not as_service:
            try:
                caller = current_caller()
                caller_text = f"{caller.role.value}/{caller.subject}"
            except Unauthenticated:
                pass
        metadata: tuple[tuple[str, str], ...] = (
            (SITE_KEY, ref.site),
            (CALLER_KEY, caller_text),
            (REQUEST_ID_KEY, current_request_id() or str(uuid.uuid4())),
            (APP_ID_KEY, ref.app_id),
        )
        if self._sends_token_to(ref.target):
            metadata += tuple(
                (k, v) for k, v in self._runtime.service_metadata(ref.site) if k == "authorization"
            )
        return metadata

    def _sends_token_to(self, target: str) -> bool:
        if self._credentials != "suite":
            return self._credentials == "always"
        config = self._runtime.config
        own = {self._runtime.self_address, *(config.peer_address(n) for n in SERVICE_NAMES)}
        return target in own

    async def call(
        self,
        ref: ProviderRef,
        method: str,
        request: Message,
        response_type: type[T],
        *,
        remaining_s: float | None = None,
        cache: ResponseCache | None = None,
    ) -> Outcome[T]:
        """Call `method` (`/pkg.Service/Rpc`) of `ref`; never raises for a provider failure.

        The registration's settings are put in the request's `settings` (every SPI request has
        one), on a copy, so one request can be fanned out to several providers.

        `remaining_s` is the caller's own remaining deadline, if it has one; the call's deadline
        is the shorter of it and the provider's timeout. With `cache`, an identical earlier
        answer is reused and a fresh answer is stored.
        """
        request = with_settings(request, ref)
        if cache is not None:
            cached = cache.get(ref, method, request, response_type)
            if cached is not None:
                return Outcome(ref, response=cached, from_cache=True)
        timeout_s = ref.timeout_s if remaining_s is None else min(ref.timeout_s, remaining_s)
        if timeout_s < _MIN_TIMEOUT_S:
            return Outcome(
                ref,
                code=PROVIDER_TIMEOUT,
                message="the request's deadline ran out before the provider was called",
                reason="DEADLINE_EXCEEDED",
            )
        metadata = self.metadata(ref)
        breaker = self.breakers.get(ref.breaker_key)
        if not breaker.allow():
            return Outcome(
                ref,
                code=PROVIDER_UNAVAILABLE,
                message=(
                    f"provider {ref.app_id} is skipped after repeated failures (circuit open, "
                    f"retried in {breaker.retry_after_s():.0f} s)"
                ),
                reason=REASON_CIRCUIT_OPEN,
            )
        own_deadline = timeout_s >= ref.timeout_s
        multicallable = self.channel(ref).unary_unary(
            method,
            request_serializer=_serialize,
            response_deserializer=response_type.FromString,
        )
        started = time.perf_counter()
        try:
            response = await multicallable(request, timeout=timeout_s, metadata=metadata)
        except asyncio.CancelledError:
            breaker.record_neutral()
            raise
        except grpc.aio.AioRpcError as exc:
            latency = time.perf_counter() - started
            return self._failed(ref, breaker, exc, latency, timeout_s, own_deadline)
        except Exception as exc:
            breaker.record_failure()
            log.warning("call to provider %s (%s) failed", ref.app_id, ref.target, exc_info=True)
            return Outcome(
                ref,
                code=PROVIDER_ERROR,
                message=f"provider {ref.app_id} could not be called: {exc}",
                reason=type(exc).__name__,
                latency_s=time.perf_counter() - started,
            )
        breaker.record_success()
        if cache is not None:
            cache.put(ref, method, request, response)
        return Outcome(ref, response=response, latency_s=time.perf_counter() - started)

    def _failed(
        self,
        ref: ProviderRef,
        breaker: CircuitBreaker,
        exc: grpc.aio.AioRpcError,
        latency: float,
        timeout_s: float,
        own_deadline: bool,
    ) -> Outcome[Any]:
        status = exc.code()
        code = _FAILED_CODES.get(status, PROVIDER_ERROR)
        if status is grpc.StatusCode.CANCELLED or (
            status is grpc.StatusCode.DEADLINE_EXCEEDED and not own_deadline
        ):
            # Our side gave up (the request was cancelled, or its own shorter deadline ran
            # out): that says nothing about the provider's health.
            breaker.record_neutral()
        else:
            breaker.record_failure()
        if status is grpc.StatusCode.DEADLINE_EXCEEDED:
            message = f"provider {ref.app_id} did not answer within {timeout_s * 1000:.0f} ms"
        else:
            message = f"provider {ref.app_id} failed: {status.name} {exc.details() or ''}".strip()
        return Outcome(ref, code=code, message=message, reason=status.name, latency_s=latency)

    async def fan_out(
        self, calls: Sequence[ProviderCall[Any]], *, remaining_s: float | None = None
    ) -> list[Outcome[Any]]:
        """Run independent calls concurrently; outcomes come back in the order of `calls`.

        Every call gets the shorter of its provider's timeout and `remaining_s`, all counted
        from now, so the whole fan-out takes at most as long as its slowest allowed call.
        """
        return list(
            await asyncio.gather(
                *(
                    self.call(
                        c.ref,
                        c.method,
                        c.request,
                        c.response_type,
                        remaining_s=remaining_s,
                        cache=c.cache,
                    )
                    for c in calls
                )
            )
        )

    async def close(self) -> None:
        await self.channels.close()


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def with_settings(request: M, ref: ProviderRef) -> M:
    """`request` with `ref`'s registration settings in its `settings` field (a copy; `request`
    itself is left alone). Requests without such a field are returned as they are."""
    field = request.DESCRIPTOR.fields_by_name.get("settings")
    if field is None or field.message_type is None:
        return request
    if field.message_type.full_name != "google.protobuf.Struct":
        return request
    personal = type(request)()
    personal.CopyFrom(request)
    getattr(personal, "settings").CopyFrom(ref.settings)  # noqa: B009 - any SPI request type
    return personal

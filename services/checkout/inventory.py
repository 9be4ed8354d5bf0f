"""Holding stock for a placement through the inventory providers (`ecom.spi.inventory.v1`).

Items are routed to the inventory provider whose app id equals the item's catalog app id; items
of catalogs without one are not reserved. One reservation per provider, all under the checkout
id. Unlike the other SPIs, failures here are not calculation errors: UNAVAILABLE and
DEADLINE_EXCEEDED are retried with backoff (same ids: every RPC is idempotent) within the
caller's deadline, and the outcome tells the saga what happened. The calls go through the
provider client's channels, metadata and circuit breakers, but not through `ProviderClient.call`,
because the saga needs the rich error details of INSUFFICIENT_INVENTORY.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf import duration_pb2
from google.protobuf.message import Message
from grpc_status import rpc_status

from ecom.common.v1 import catalog_pb2
from ecom.spi.inventory.v1 import inventory_provider_service_pb2 as inventory_spi
from services.checkout.domain import reference_key
from services.checkout.peers import error_reason
from services.platform.deadlines import Deadline
from services.platform.errors import Unavailable
from services.platform.providers import Kind, ProviderClient, ProviderRef

log = logging.getLogger("ecom.checkout.inventory")

T = TypeVar("T", bound=Message)

RESERVE = Kind.INVENTORY.method("ReserveInventory")
RELEASE = Kind.INVENTORY.method("ReleaseInventory")
COMMIT = Kind.INVENTORY.method("CommitInventory")
INSUFFICIENT_INVENTORY = "INSUFFICIENT_INVENTORY"
_RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
#: Retries when the caller has no deadline (background work).
_DEFAULT_BUDGET_S = 10.0


@dataclass(frozen=True)
class Item:
    line_id: str
    reference: catalog_pb2.CatalogReference
    quantity: int


@dataclass(frozen=True)
class Short:
    line_id: str
    reference: catalog_pb2.CatalogReference
    requested: int
    available: int


@dataclass
class ReserveOutcome:
    #: App ids of providers that were asked (and may hold stock until released).
    asked: list[str] = field(default_factory=list)
    short: list[Short] = field(default_factory=list)
    #: A failure that is not a stock shortage: (transient, message).
    failure: tuple[bool, str] | None = None

    @property
    def ok(self) -> bool:
        return not self.short and self.failure is None


class _CallFailed(Exception):
    def __init__(self, exc: grpc.aio.AioRpcError | None, message: str) -> None:
        super().__init__(message)
        self.rpc_error = exc
        self.message = message

    @property
    def transient(self) -> bool:
        return self.rpc_error is None or self.rpc_error.code() in _RETRIED


class Inventory:
    def __init__(self, client: ProviderClient, *, ttl_s: float) -> None:
        self._client = client
        self._ttl_s = ttl_s

    async def _providers(self, site: str) -> dict[str, ProviderRef]:
        return {ref.app_id: ref for ref in await self._client.providers(site, Kind.INVENTORY)}

    async def reserve(
        self, site: str, reservation_id: str, items: Sequence[Item], *, deadline: Deadline
    ) -> ReserveOutcome:
        """Reserve every item at its provider, all or nothing: on any failure whatever was
        reserved is released again (the outcome says what went wrong)."""
        try:
            providers = await self._providers(site)
        except Unavailable as exc:
            return ReserveOutcome(failure=(True, exc.message))
        by_app: dict[str, list[Item]] = {}
        for item in items:
            if item.reference.app_id in providers:
                by_app.setdefault(item.reference.app_id, []).append(item)
        outcome = ReserveOutcome(asked=sorted(by_app))
        results = await asyncio.gather(
            *(
                self._reserve_one(providers[app], reservation_id, by_app[app], deadline)
                for app in outcome.asked
            )
        )
        for result in results:
            if isinstance(result, list):
                outcome.short.extend(result)
            elif result is not None and outcome.failure is None:
                outcome.failure = result
        if not outcome.ok:
            await self.release(site, reservation_id, outcome.asked, deadline=deadline)
        return outcome

    async def _reserve_one(
        self, ref: ProviderRef, reservation_id: str, items: list[Item], deadline: Deadline
    ) -> list[Short] | tuple[bool, str] | None:
        """None when reserved; the short items; or (transient, message) for another failure."""
        ttl = duration_pb2.Duration()
        ttl.FromSeconds(int(self._ttl_s))
        request = inventory_spi.ReserveInventoryRequest(
            reservation_id=reservation_id,
            items=[
                inventory_spi.InventoryItem(catalog_reference=i.reference, quantity=i.quantity)
                for i in items
            ],
            ttl=ttl,
            settings=ref.settings_struct(),
        )
        try:
            await self._call(
                ref, RESERVE, request, inventory_spi.ReserveInventoryResponse, deadline
            )
        except _CallFailed as failed:
            short = _short_items(failed.rpc_error, items)
            if short is not None:
                return short
            log.warning(
                "reservation %s at %s failed: %s", reservation_id, ref.app_id, failed.message
            )
            return failed.transient, failed.message
        return None

    async def release(
        self, site: str, reservation_id: str, apps: Sequence[str], *, deadline: Deadline
    ) -> bool:
        """Release the reservation at each provider; False when one could not be reached (the
        reservation then expires on its own)."""
        if not apps:
            return True
        try:
            providers = await self._providers(site)
        except Unavailable:
            return False
        results = await asyncio.gather(
            *(
                self._simple(providers[app], RELEASE, reservation_id, deadline)
                for app in apps
                if app in providers
            )
        )
        return all(results)

    async def commit(
        self,
        site: str,
        reservation_id: str,
        apps: Sequence[str],
        order_id: str,
        *,
        deadline: Deadline,
        retry: bool = True,
    ) -> bool:
        """Commit at each provider; False when one must be tried again later. Without `retry`,
        one attempt each (the caller retries on its own rhythm)."""
        if not apps:
            return True
        try:
            providers = await self._providers(site)
        except Unavailable:
            return False
        results = await asyncio.gather(
            *(
                self._simple(
                    providers[app],
                    COMMIT,
                    reservation_id,
                    deadline,
                    order_id=order_id,
                    retry=retry,
                )
                for app in apps
                if app in providers
            )
        )
        return all(results)

    async def _simple(
        self,
        ref: ProviderRef,
        method: str,
        reservation_id: str,
        deadline: Deadline,
        *,
        order_id: str = "",
        retry: bool = True,
    ) -> bool:
        request: Message
        response_type: type[Message]
        if method == COMMIT:
            request = inventory_spi.CommitInventoryRequest(
                reservation_id=reservation_id, order_id=order_id, settings=ref.settings_struct()
            )
            response_type = inventory_spi.CommitInventoryResponse
        else:
            request = inventory_spi.ReleaseInventoryRequest(
                reservation_id=reservation_id, settings=ref.settings_struct()
            )
            response_type = inventory_spi.ReleaseInventoryResponse
        try:
            await self._call(ref, method, request, response_type, deadline, retry=retry)
        except _CallFailed as failed:
            if failed.transient:
                log.warning(
                    "%s of %s at %s failed: %s", method, reservation_id, ref.app_id, failed.message
                )
                return False
            # A definitive refusal (released, unknown, out of stock after expiry) will not
            # change on a retry: it needs the merchant.
            log.error(
                "%s of reservation %s at %s refused for good: %s",
                method,
                reservation_id,
                ref.app_id,
                failed.message,
            )
        return True

    async def _call(
        self,
        ref: ProviderRef,
        method: str,
        request: Message,
        response_type: type[T],
        deadline: Deadline,
        *,
        retry: bool = True,
    ) -> T:
        """One RPC, retried (unless `retry` is False) with backoff on UNAVAILABLE /
        DEADLINE_EXCEEDED until `deadline`, through the provider's breaker."""
        if deadline.remaining() is None:
            deadline = Deadline(_DEFAULT_BUDGET_S)
        breaker = self._client.breakers.get(ref.breaker_key)
        attempt = 0
        last: _CallFailed = _CallFailed(None, f"provider {ref.app_id} was not called")
        while True:
            remaining = deadline.remaining() or 0.0  # never None: bounded above
            if remaining <= 0.01:
                raise last
            if not breaker.allow():
                raise _CallFailed(None, f"provider {ref.app_id} is skipped (circuit open)")
            multicallable: Any = self._client.channel(ref).unary_unary(
                method,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response_type.FromString,
            )
            try:
                response: T = await multicallable(
                    request,
                    timeout=min(ref.timeout_s, remaining),
                    metadata=self._client.metadata(ref),
                )
            except asyncio.CancelledError:
                breaker.record_neutral()
                raise
            except grpc.aio.AioRpcError as exc:
                if exc.code() in _RETRIED:
                    breaker.record_failure()
                else:
                    breaker.record_success()  # it answered: a business refusal, not an outage
                last = _CallFailed(
                    exc, f"provider {ref.app_id}: {exc.code().name} {exc.details() or ''}".strip()
                )
                if exc.code() not in _RETRIED or not retry:
                    raise last from None
            else:
                breaker.record_success()
                return response
            attempt += 1
            pause = random.uniform(0, min(0.5, 0.02 * 2**attempt))
            await asyncio.sleep(min(pause, deadline.remaining() or 0.0))


def _short_items(exc: grpc.aio.AioRpcError | None, items: Sequence[Item]) -> list[Short] | None:
    """The short items of an INSUFFICIENT_INVENTORY refusal, or None when `exc` is not one
    (a FAILED_PRECONDITION without both details is a provider error, as the SPI says)."""
    if exc is None or exc.code() is not grpc.StatusCode.FAILED_PRECONDITION:
        return None
    if error_reason(exc) != INSUFFICIENT_INVENTORY:
        return None
    status = rpc_status.from_call(exc)
    detail = None
    for packed in status.details if status is not None else ():
        if packed.Is(inventory_spi.InsufficientInventory.DESCRIPTOR):
            detail = inventory_spi.InsufficientInventory()
            packed.Unpack(detail)
    if detail is None:
        return None
    by_key = {reference_key(item.reference): item for item in items}
    short: list[Short] = []
    for entry in detail.items:
        item = by_key.get(reference_key(entry.catalog_reference))
        if item is not None:
            short.append(Short(item.line_id, item.reference, entry.requested, entry.available))
    return short

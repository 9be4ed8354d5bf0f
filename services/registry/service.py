"""The provider registry's use cases: each one a unit of work over the store, merged with the
read-only providers of the configuration file.

Config-file providers are not copied into the table: they are kept in memory (every process reads
the same file at start-up) and merged into every read, which is how a `"*"` entry reaches sites
that did not exist when the file was loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy.exc
from google.protobuf import struct_pb2
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform import errors
from services.platform.db import Database, utcnow
from services.platform.idempotency import run_idempotent
from services.platform.providers.breaker import BreakerState
from services.platform.providers.client import ProviderClient
from services.platform.providers.config_file import ConfiguredProviders
from services.platform.providers.kinds import Kind
from services.platform.providers.ref import MAX_TIMEOUT_S, ProviderRef
from services.platform.providers.rules import MAX_PROVIDERS_PER_KIND
from services.platform.read_cache import ReadCache
from services.registry import domain
from services.registry.domain import ProviderRecord, Registration
from services.registry.listing import ListQuery, Page, paginate
from services.registry.probe import Health, probe
from services.registry.store import ProviderStore

M = TypeVar("M", bound=Message)

#: Idempotency scope of RegisterProvider's request ids.
REGISTER_SCOPE = "ecom.providers.v1.ProviderRegistryService/RegisterProvider"
#: Sites whose config-file providers are kept ready (all are forgotten when more come).
MAX_REMEMBERED_SITES = 10_000


@dataclass(frozen=True)
class CheckResult:
    health: Health
    circuit_state: BreakerState
    checked: datetime
    latency_s: float | None = None
    error_message: str = ""
    probe: str = ""


class ProviderRegistry:
    def __init__(
        self,
        database: Database,
        configured: ConfiguredProviders | Callable[[], ConfiguredProviders],
        *,
        client: ProviderClient,
        resolve_target: Callable[[str], str],
        loaded: datetime | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        # A callable is resolved at the first read: the default providers depend on which
        # targets the process binds, and the registry binds before them.
        self._configured_source = configured
        self._client = client
        self._resolve_target = resolve_target
        self._loaded = loaded or clock()
        self._clock = clock
        #: Each site's registry-source providers, kept until the database changes: every cart
        #: and checkout asks for a site's providers, and they change rarely.
        self._registered: ReadCache[str, tuple[ProviderRecord, ...]] = ReadCache(database)
        #: Each site's config-file providers (the file is read once: they never change).
        self._config_records: dict[str, tuple[ProviderRecord, ...]] = {}

    @property
    def _configured(self) -> ConfiguredProviders:
        if not isinstance(self._configured_source, ConfiguredProviders):
            self._configured_source = self._configured_source()
        return self._configured_source

    # -- reads ---------------------------------------------------------------------------

    def _from_config(self, site: str) -> tuple[ProviderRecord, ...]:
        records = self._config_records.get(site)
        if records is None:
            entries = self._configured.for_site(site)
            records = tuple(domain.from_config(e, site, self._loaded) for e in entries)
            if len(self._config_records) >= MAX_REMEMBERED_SITES:
                self._config_records.clear()
            self._config_records[site] = records
        return records

    async def _from_registry(self, site: str) -> tuple[ProviderRecord, ...]:
        """The site's registry-source providers (at most 20 per kind: all of them at once)."""
        version = await self._registered.version()
        records = self._registered.get(version, site)
        if records is None:

            async def read(session: AsyncSession) -> tuple[ProviderRecord, ...]:
                return tuple(await ProviderStore(session).list(site))

            records = await self._database.run(read, readonly=True)
            await self._registered.put(version, site, records)
        return records

    async def get(self, site: str, provider_id: str) -> ProviderRecord:
        provider_id = domain.check_id(provider_id)
        for record in (*self._from_config(site), *await self._from_registry(site)):
            if record.id == provider_id:
                return record
        raise domain.not_found(provider_id)

    async def list(self, site: str, query: ListQuery) -> Page:
        # Both sources in full: `paginate` applies the filter (kinds, app ids, enabled, source).
        records = [*self._from_config(site)]
        sources = query.filter.sources
        if not sources or domain.Source.REGISTRY in sources:
            records.extend(await self._from_registry(site))
        return paginate(records, query)

    # -- writes --------------------------------------------------------------------------

    async def register(
        self,
        site: str,
        registration: Registration,
        *,
        request_id: str,
        request: Message,
        respond: Callable[[ProviderRecord], M],
        response_type: type[M],
    ) -> M:
        """Register a provider and answer with `respond(record)`. With a `request_id`, the
        answer is stored in the same transaction and a retry gets it back (AIP-155)."""
        record = domain.new_record(site, registration, self._clock())
        configured = self._configured.find(site, record.kind, record.app_id)
        if configured is not None:
            raise domain.already_exists(domain.from_config(configured, site, self._loaded))

        async def insert(session: AsyncSession) -> M:
            store = ProviderStore(session)
            existing = await store.find(site, record.kind, record.app_id)
            if existing is not None:
                raise domain.already_exists(existing)
            in_config = sum(1 for e in self._configured.for_site(site) if e.kind is record.kind)
            if await store.count(site, record.kind) + in_config >= MAX_PROVIDERS_PER_KIND:
                raise _limit_reached(record.kind)
            await store.add(record)
            return respond(record)

        async def unit(session: AsyncSession) -> M:
            return await run_idempotent(
                session,
                site=site,
                scope=REGISTER_SCOPE,
                request_id=request_id,
                request=request,
                response_type=response_type,
                produce=lambda: insert(session),
            )

        try:
            response = await self._database.run(unit)
        except sqlalchemy.exc.IntegrityError:
            # A concurrent register of the same kind and app id won the unique constraint.
            existing = await self._find(site, record.kind, record.app_id)
            if existing is None:
                raise
            raise domain.already_exists(existing) from None
        self._client.invalidate(site)
        return response

    async def _find(self, site: str, kind: Kind, app_id: str) -> ProviderRecord | None:
        async def read(session: AsyncSession) -> ProviderRecord | None:
            return await ProviderStore(session).find(site, kind, app_id)

        return await self._database.run(read, readonly=True)

    async def update(
        self,
        site: str,
        provider_id: str,
        values: Registration,
        paths: frozenset[str],
        expected_revision: int,
    ) -> ProviderRecord:
        provider_id = domain.check_id(provider_id, "provider.id")
        paths = domain.check_mask(paths)
        config_record = self._config_record(site, provider_id)
        if config_record is not None:
            raise domain.read_only(config_record)

        async def write(session: AsyncSession) -> ProviderRecord:
            store = ProviderStore(session)
            current = await store.get(site, provider_id)
            if current is None:
                raise domain.not_found(provider_id)
            updated = domain.apply_update(current, values, paths, expected_revision, self._clock())
            await store.replace(updated)
            return updated

        updated = await self._database.run(write)
        self._client.invalidate(site)
        return updated

    async def delete(self, site: str, provider_id: str, expected_revision: int) -> None:
        provider_id = domain.check_id(provider_id)
        config_record = self._config_record(site, provider_id)
        if config_record is not None:
            raise domain.read_only(config_record)

        async def remove(session: AsyncSession) -> None:
            store = ProviderStore(session)
            current = await store.get(site, provider_id)
            if current is None:
                raise domain.not_found(provider_id)
            domain.check_deletable(current, expected_revision)
            await store.delete(current)

        await self._database.run(remove)
        self._client.invalidate(site)

    def _config_record(self, site: str, provider_id: str) -> ProviderRecord | None:
        return next((r for r in self._from_config(site) if r.id == provider_id), None)

    # -- probing -------------------------------------------------------------------------

    def ref(self, record: ProviderRecord) -> ProviderRef:
        """How callers see `record`: target resolved, timeout defaulted and capped."""
        timeout_s = record.timeout_ms / 1000 or self._client.default_timeout_s
        return ProviderRef(
            id=record.id,
            site=record.site,
            kind=record.kind,
            app_id=record.app_id,
            target=self._resolve_target(record.target),
            timeout_s=min(timeout_s, MAX_TIMEOUT_S),
            tls=record.tls,
            validate_in_cart=record.validate_in_cart,
            enabled=record.enabled,
            revision=record.revision,
            settings=_struct(record.settings),
        )

    async def check(
        self, site: str, provider_id: str, *, ignore_circuit: bool = False
    ) -> CheckResult:
        record = await self.get(site, provider_id)
        ref = self.ref(record)
        state = self._client.breaker_state(ref)
        checked = self._clock()
        if state is BreakerState.OPEN and not ignore_circuit:
            return CheckResult(Health.CIRCUIT_OPEN, state, checked)
        result = await probe(self._client, ref)
        return CheckResult(
            result.health,
            self._client.breaker_state(ref),
            checked,
            result.latency_s,
            result.error_message,
            result.probe,
        )


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _limit_reached(kind: Kind) -> errors.DomainError:
    return errors.ResourceExhausted(
        "PROVIDER_LIMIT_REACHED",
        f"the site already has {MAX_PROVIDERS_PER_KIND} {kind.slug} providers",
        metadata={"limit": str(MAX_PROVIDERS_PER_KIND)},
    )

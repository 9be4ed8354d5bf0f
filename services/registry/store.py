"""The registry's repository: registry-source providers in the service's own table.

Every query is scoped by site. Writes are compare-and-set on `revision`, so two concurrent
updates of one provider cannot both win: the loser sees RevisionMismatch (ABORTED).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform.errors import RevisionMismatch
from services.platform.providers.kinds import Kind
from services.registry.domain import RESOURCE, ProviderRecord, Source, not_found
from services.registry.tables import providers


def _record(row: RowMapping) -> ProviderRecord:
    return ProviderRecord(
        id=row["id"],
        site=row["site"],
        kind=Kind(row["kind"]),
        app_id=row["app_id"],
        target=row["target"],
        tls=bool(row["tls"]),
        timeout_ms=int(row["timeout_ms"]),
        settings=dict(row["settings"] or {}),
        validate_in_cart=bool(row["validate_in_cart"]),
        enabled=bool(row["enabled"]),
        source=Source.REGISTRY,
        revision=int(row["revision"]),
        created=row["created"],
        updated=row["updated"],
    )


def _row(record: ProviderRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "site": record.site,
        "kind": int(record.kind),
        "app_id": record.app_id,
        "target": record.target,
        "tls": record.tls,
        "timeout_ms": record.timeout_ms,
        "settings": dict(record.settings),
        "validate_in_cart": record.validate_in_cart,
        "enabled": record.enabled,
        "revision": record.revision,
        "created": record.created,
        "updated": record.updated,
    }


class ProviderStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, site: str, provider_id: str) -> ProviderRecord | None:
        result = await self._session.execute(
            sa.select(providers).where(providers.c.site == site, providers.c.id == provider_id)
        )
        row = result.mappings().first()
        return _record(row) if row else None

    async def find(self, site: str, kind: Kind, app_id: str) -> ProviderRecord | None:
        result = await self._session.execute(
            sa.select(providers).where(
                providers.c.site == site,
                providers.c.kind == int(kind),
                providers.c.app_id == app_id,
            )
        )
        row = result.mappings().first()
        return _record(row) if row else None

    async def count(self, site: str, kind: Kind) -> int:
        result = await self._session.execute(
            sa.select(sa.func.count())
            .select_from(providers)
            .where(providers.c.site == site, providers.c.kind == int(kind))
        )
        return int(result.scalar_one())

    async def list(
        self,
        site: str,
        *,
        kinds: Iterable[Kind] = (),
        app_ids: Iterable[str] = (),
        enabled: bool | None = None,
    ) -> list[ProviderRecord]:
        query = sa.select(providers).where(providers.c.site == site)
        kind_values = [int(kind) for kind in kinds]
        if kind_values:
            query = query.where(providers.c.kind.in_(kind_values))
        app_id_values = list(app_ids)
        if app_id_values:
            query = query.where(providers.c.app_id.in_(app_id_values))
        if enabled is not None:
            query = query.where(providers.c.enabled == enabled)
        result = await self._session.execute(query)
        return [_record(row) for row in result.mappings()]

    async def add(self, record: ProviderRecord) -> None:
        await self._session.execute(sa.insert(providers).values(**_row(record)))

    async def replace(self, record: ProviderRecord) -> None:
        """Store `record` (revision already bumped) if the stored one is still revision - 1."""
        values = _row(record)
        for key in ("id", "site", "kind", "app_id", "created"):
            values.pop(key)
        result = await self._session.execute(
            sa.update(providers)
            .where(
                providers.c.site == record.site,
                providers.c.id == record.id,
                providers.c.revision == record.revision - 1,
            )
            .values(**values)
        )
        if _rowcount(result) != 1:
            await self._conflict(record.site, record.id, record.revision - 1)

    async def delete(self, record: ProviderRecord) -> None:
        result = await self._session.execute(
            sa.delete(providers).where(
                providers.c.site == record.site,
                providers.c.id == record.id,
                providers.c.revision == record.revision,
            )
        )
        if _rowcount(result) != 1:
            await self._conflict(record.site, record.id, record.revision)

    async def _conflict(self, site: str, provider_id: str, expected: int) -> None:
        current = await self.get(site, provider_id)
        if current is None:
            raise not_found(provider_id)
        raise RevisionMismatch(RESOURCE, expected, current.revision)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)

"""AIP-155 request ids on SQLite and PostgreSQL: one mutation per id, stored first responses."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.providers.v1 import provider_pb2
from ecom.providers.v1.provider_registry_service_pb2 import (
    RegisterProviderRequest,
    RegisterProviderResponse,
)
from services.platform import errors
from services.platform.db import Database, new_metadata, utcnow
from services.platform.idempotency import (
    KEY_TTL,
    REQUEST_ID_REUSED,
    fingerprint,
    purge_expired_keys,
    run_idempotent,
)
from services.platform.schema.tables import idempotency_keys

SCOPE = "ecom.providers.v1.ProviderRegistryService/RegisterProvider"

metadata = new_metadata()
mutations = Table(
    "mutations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", String(100), nullable=False),
)


@pytest.fixture
async def db(database: Database) -> Database:
    async with database.connection() as conn:
        await conn.run_sync(metadata.create_all)
    return database


def _request(request_id: str, app_id: str = "app-1") -> RegisterProviderRequest:
    return RegisterProviderRequest(
        provider=provider_pb2.Provider(app_id=app_id, target="127.0.0.1:1"),
        request_id=request_id,
    )


async def _register(
    db: Database,
    site: str,
    request: RegisterProviderRequest,
    *,
    scope: str = SCOPE,
    slow_s: float = 0.0,
    fail: bool = False,
) -> RegisterProviderResponse:
    """A mutation behind the idempotency key, like a servicer's unit of work."""

    async def unit(session: AsyncSession) -> RegisterProviderResponse:
        async def produce() -> RegisterProviderResponse:
            result = await session.execute(
                insert(mutations).values(app_id=request.provider.app_id).returning(mutations.c.id)
            )
            await asyncio.sleep(slow_s)  # keep the transaction open while others arrive
            if fail:
                raise errors.FailedPrecondition("REFUSED", "refused after the insert")
            return RegisterProviderResponse(
                provider=provider_pb2.Provider(id=str(result.scalar_one()), app_id="x")
            )

        return await run_idempotent(
            session,
            site=site,
            scope=scope,
            request_id=request.request_id,
            request=request,
            response_type=RegisterProviderResponse,
            produce=produce,
        )

    return await db.run(unit)


async def _mutation_count(db: Database) -> int:
    return int(
        (
            await db.run(lambda s: s.execute(select(func.count()).select_from(mutations)))
        ).scalar_one()
    )


async def test_retry_with_same_id_returns_first_response_without_mutating(
    db: Database, site: str
) -> None:
    first = await _register(db, site, _request("req-1"))
    again = await _register(db, site, _request("req-1"))
    assert again == first
    assert await _mutation_count(db) == 1


async def test_concurrent_retries_with_one_id_mutate_once(db: Database, site: str) -> None:
    responses = await asyncio.gather(
        *(_register(db, site, _request("req-race"), slow_s=0.05) for _ in range(6))
    )
    assert all(r == responses[0] for r in responses)
    assert await _mutation_count(db) == 1


async def test_same_id_with_a_different_request_is_refused(db: Database, site: str) -> None:
    await _register(db, site, _request("req-2", app_id="first"))
    with pytest.raises(errors.AlreadyExists) as caught:
        await _register(db, site, _request("req-2", app_id="second"))
    assert caught.value.reason == REQUEST_ID_REUSED
    assert await _mutation_count(db) == 1


async def test_without_request_id_every_call_mutates(db: Database, site: str) -> None:
    await _register(db, site, _request(""))
    await _register(db, site, _request(""))
    assert await _mutation_count(db) == 2


async def test_ids_are_scoped_by_site_and_rpc(db: Database, site: str) -> None:
    await _register(db, site, _request("req-3"))
    await _register(db, site + "-other", _request("req-3", app_id="elsewhere"))
    await _register(db, site, _request("req-3", app_id="other-rpc"), scope=SCOPE + "V2")
    assert await _mutation_count(db) == 3


async def test_a_failed_call_keeps_no_key_and_can_be_retried(db: Database, site: str) -> None:
    with pytest.raises(errors.FailedPrecondition):
        await _register(db, site, _request("req-4"), fail=True)
    assert await _mutation_count(db) == 0
    await _register(db, site, _request("req-4"))
    assert await _mutation_count(db) == 1


async def test_expired_keys_are_purged_and_then_free(db: Database, site: str) -> None:
    await _register(db, site, _request("req-5"))
    # Not yet expired: nothing to purge.
    assert await db.run(lambda s: purge_expired_keys(s)) == 0
    later = utcnow() + KEY_TTL + timedelta(hours=1)
    assert await db.run(lambda s: purge_expired_keys(s, now=later)) == 1
    await _register(db, site, _request("req-5"))
    assert await _mutation_count(db) == 2


async def test_an_expired_key_not_yet_purged_counts_as_absent(db: Database, site: str) -> None:
    await _register(db, site, _request("req-6", app_id="old"))
    await db.run(
        lambda s: s.execute(
            update(idempotency_keys).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    )
    # A different request may now use the id: it is a new key.
    await _register(db, site, _request("req-6", app_id="new"))
    assert await _mutation_count(db) == 2
    again = await _register(db, site, _request("req-6", app_id="new"))
    assert again.provider.id == "2"


async def test_overlong_request_id_is_invalid(db: Database, site: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        await _register(db, site, _request("x" * 201))


def test_fingerprint_ignores_the_request_id_only() -> None:
    assert fingerprint(_request("a")) == fingerprint(_request("b"))
    assert fingerprint(_request("a")) != fingerprint(_request("a", app_id="other"))

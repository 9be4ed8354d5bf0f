"""`stored_response`: a retry looked up read-only before any work, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.providers.v1 import provider_pb2
from ecom.providers.v1.provider_registry_service_pb2 import (
    GetProviderResponse,
    RegisterProviderRequest,
    RegisterProviderResponse,
)
from services.platform import errors
from services.platform.db import Database, utcnow
from services.platform.idempotency import REQUEST_ID_REUSED, run_idempotent, stored_response
from services.platform.schema.tables import idempotency_keys

SCOPE = "ecom.providers.v1.ProviderRegistryService/RegisterProvider"


def _request(request_id: str, app_id: str = "app-1") -> RegisterProviderRequest:
    return RegisterProviderRequest(
        provider=provider_pb2.Provider(app_id=app_id, target="127.0.0.1:1"),
        request_id=request_id,
    )


async def _first_run(db: Database, site: str, request: RegisterProviderRequest) -> None:
    async def produce() -> RegisterProviderResponse:
        return RegisterProviderResponse(provider=provider_pb2.Provider(id="p-1", app_id="a"))

    async def unit(session: AsyncSession) -> RegisterProviderResponse:
        return await run_idempotent(
            session,
            site=site,
            scope=SCOPE,
            request_id=request.request_id,
            request=request,
            response_type=RegisterProviderResponse,
            produce=produce,
        )

    await db.run(unit)


async def _lookup(
    db: Database,
    site: str,
    request: RegisterProviderRequest,
    response_type: type[RegisterProviderResponse] | type[GetProviderResponse] = (
        RegisterProviderResponse
    ),
    scope: str = SCOPE,
) -> object:
    return await stored_response(
        db,
        site=site,
        scope=scope,
        request_id=request.request_id,
        request=request,
        response_type=response_type,
    )


async def test_a_retry_finds_the_first_response(database: Database, site: str) -> None:
    assert await _lookup(database, site, _request("r-1")) is None
    await _first_run(database, site, _request("r-1"))
    found = await _lookup(database, site, _request("r-1"))
    assert isinstance(found, RegisterProviderResponse)
    assert found.provider.id == "p-1"
    # Keyed by site and scope too.
    assert await _lookup(database, site + "-other", _request("r-1")) is None
    assert await _lookup(database, site, _request("r-1"), scope=SCOPE + "V2") is None


async def test_no_request_id_means_no_lookup(database: Database, site: str) -> None:
    await _first_run(database, site, _request(""))
    assert await _lookup(database, site, _request("")) is None


async def test_a_reused_id_is_refused(database: Database, site: str) -> None:
    await _first_run(database, site, _request("r-2"))
    with pytest.raises(errors.AlreadyExists) as other_request:
        await _lookup(database, site, _request("r-2", app_id="other"))
    assert other_request.value.reason == REQUEST_ID_REUSED
    with pytest.raises(errors.AlreadyExists) as other_kind:
        await _lookup(database, site, _request("r-2"), response_type=GetProviderResponse)
    assert other_kind.value.reason == REQUEST_ID_REUSED


async def test_an_expired_key_answers_nothing(database: Database, site: str) -> None:
    await _first_run(database, site, _request("r-3"))
    await database.run(
        lambda s: s.execute(
            update(idempotency_keys).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    )
    assert await _lookup(database, site, _request("r-3", app_id="other")) is None

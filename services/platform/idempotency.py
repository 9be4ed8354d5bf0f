"""AIP-155 request ids: a retried mutation returns its first response instead of running again.

Use it inside the service's unit of work, around the mutation, so that the stored response
commits atomically with the change (and rolls back with it):

    async def add(session):
        return await run_idempotent(
            session, site=caller.site, scope="ecom.cart.v1.CartService/AddToCart",
            request_id=request.request_id, request=request,
            response_type=AddToCartResponse, produce=lambda: mutate(session),
        )
    return await database.run(add)

Key: (site, scope, request_id). Fingerprint: sha256 of the request's deterministic serialization
with its `request_id` cleared. Same key and fingerprint: the stored response, nothing runs. Same
key, other fingerprint: ALREADY_EXISTS (REQUEST_ID_REUSED). Empty request_id: just `produce()`.
Errors are not stored: a call that failed can be retried with the same id.

Concurrent retries with one id: the key row is claimed with `INSERT ... ON CONFLICT DO NOTHING`
before the mutation. On PostgreSQL a second claim of an uncommitted key waits on the unique index
until the first transaction ends, then sees the committed row (READ COMMITTED takes a fresh
snapshot per statement) and returns the stored response; under REPEATABLE READ it fails with a
serialization error that `Database.run` retries. On SQLite writers are serialized, so the second
call simply finds the committed row. A row without a response (a caller swallowed the error of
`produce` and committed anyway) is taken over by the next call.

A service that does work before its unit of work (a provider call, a call to a peer) looks a
retry up first with `stored_response` (read-only, same key, fingerprint and REQUEST_ID_REUSED
rule), so the retry answers without redoing that work; `run_idempotent` still settles concurrent
first runs. The `idempotency_keys` table is private to this module.

Keys live `KEY_TTL` (72 h, the contract's minimum); an expired key is treated as absent and
`purge_expired_keys` (called by the outbox relay's housekeeping) deletes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform import errors
from services.platform.db import Database, for_update, insert_if_absent, utcnow
from services.platform.schema.tables import idempotency_keys

M = TypeVar("M", bound=Message)

KEY_TTL = timedelta(hours=72)
MAX_REQUEST_ID_LENGTH = 200
REQUEST_ID_REUSED = "REQUEST_ID_REUSED"


def fingerprint(request: Message, request_id_field: str = "request_id") -> str:
    """sha256 of the request without its request id (deterministic serialization)."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField(request_id_field)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def _key(site: str, scope: str, request_id: str) -> Any:
    return (
        (idempotency_keys.c.site == site)
        & (idempotency_keys.c.scope == scope)
        & (idempotency_keys.c.request_id == request_id)
    )


async def _claim(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the key row; False when it already exists (committed by someone else)."""
    return await insert_if_absent(
        session, idempotency_keys, values, ("site", "scope", "request_id")
    )


async def run_idempotent(
    session: AsyncSession,
    *,
    site: str,
    scope: str,
    request_id: str,
    request: Message,
    response_type: type[M],
    produce: Callable[[], Awaitable[M]],
    request_id_field: str = "request_id",
) -> M:
    """Return the response stored for this request id, or run `produce` and store its result."""
    if not request_id:
        return await produce()
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise errors.InvalidArgument.of(
            request_id_field, f"must be at most {MAX_REQUEST_ID_LENGTH} characters"
        )
    now = utcnow()
    digest = fingerprint(request, request_id_field)
    key = _key(site, scope, request_id)
    claimed = await _claim(
        session,
        {
            "site": site,
            "scope": scope,
            "request_id": request_id,
            "fingerprint": digest,
            "created_at": now,
            "expires_at": now + KEY_TTL,
        },
    )
    if not claimed:
        row = (
            await session.execute(for_update(session, select(idempotency_keys).where(key)))
        ).one()
        stored = _answer(row, digest, response_type, request_id, now)
        if stored is not None:
            return stored
        # Expired or abandoned: this call takes the key over.
        await session.execute(
            update(idempotency_keys)
            .where(key)
            .values(fingerprint=digest, created_at=now, expires_at=now + KEY_TTL)
        )
    response = await produce()
    await session.execute(
        update(idempotency_keys)
        .where(key)
        .values(
            response_type=response.DESCRIPTOR.full_name,
            response=response.SerializeToString(deterministic=True),
        )
    )
    return response


async def stored_response(
    database: Database,
    *,
    site: str,
    scope: str,
    request_id: str,
    request: Message,
    response_type: type[M],
    request_id_field: str = "request_id",
) -> M | None:
    """The response stored for this request id (a retry), in a read-only unit of work of its
    own; None when there is none (no id, never seen, expired, or its first run has not
    committed).

    For services that do work *before* their unit of work (provider calls, calls to peers) and
    must not redo it on a retry: they answer from here first, and `run_idempotent` inside the
    unit of work still settles concurrent first runs. Raises ALREADY_EXISTS
    (REQUEST_ID_REUSED) when the id was used for a different request, like `run_idempotent`.
    """
    if not request_id:
        return None

    async def read(session: AsyncSession) -> Any:
        key = _key(site, scope, request_id)
        return (await session.execute(select(idempotency_keys).where(key))).first()

    row = await database.run(read, readonly=True)
    if row is None:
        return None
    return _answer(row, fingerprint(request, request_id_field), response_type, request_id, utcnow())


def _answer(
    row: Any, digest: str, response_type: type[M], request_id: str, now: datetime
) -> M | None:
    """The stored response of a key row for a request with fingerprint `digest`; None when the
    row is expired or holds no response (its owner may take it over). Raises REQUEST_ID_REUSED
    when the row answered another request or another kind of request."""
    if row.expires_at <= now or row.response is None:
        return None
    if row.fingerprint != digest:
        raise errors.AlreadyExists(
            REQUEST_ID_REUSED,
            f"request id {request_id!r} was already used for a different request",
            metadata={"request_id": request_id},
        )
    if row.response_type != response_type.DESCRIPTOR.full_name:
        raise errors.AlreadyExists(
            REQUEST_ID_REUSED,
            f"request id {request_id!r} was already used for another kind of request",
            metadata={"request_id": request_id},
        )
    return response_type.FromString(row.response)


async def purge_expired_keys(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 1000
) -> int:
    """Delete up to `limit` expired keys; returns how many went (call until it returns 0)."""
    now = now or utcnow()
    doomed = (
        select(idempotency_keys.c.site, idempotency_keys.c.scope, idempotency_keys.c.request_id)
        .where(idempotency_keys.c.expires_at <= now)
        .limit(limit)
    )
    columns = tuple_(
        idempotency_keys.c.site, idempotency_keys.c.scope, idempotency_keys.c.request_id
    )
    result = await session.execute(delete(idempotency_keys).where(columns.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)

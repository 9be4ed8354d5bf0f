"""Answering a retried request from its stored response before doing any work.

`run_idempotent` (the platform's AIP-155 support) stores a write's response in the write's own
transaction and, for a retry, returns it from inside the next unit of work. The cart does work
*before* its unit of work (the catalog call, checks on the cart as read, the call to the checkout
service), and a retry must not redo it: re-checking an add whose first run took a line to 100000
would refuse the retry, and a reused id must be refused before the checkout service is called.
So a request with a `request_id` is first looked up here, read-only, with the platform's
`stored_response`; `run_idempotent` inside the unit of work still settles concurrent first runs.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from services.platform import idempotency
from services.platform.db import Database

M = TypeVar("M", bound=Message)


async def stored_response(
    database: Database,
    *,
    site: str,
    scope: str,
    request_id: str,
    request: Message,
    response_type: type[M],
) -> M | None:
    """The first response to this request id, or None when there is none (yet). Raises
    ALREADY_EXISTS (REQUEST_ID_REUSED) when the id was used for a different request."""
    if not request_id:
        return None

    async def read(session: AsyncSession) -> M | None:
        return await idempotency.stored_response(
            session,
            site=site,
            scope=scope,
            request_id=request_id,
            request=request,
            response_type=response_type,
        )

    return await database.run(read, readonly=True)

"""The Events service's logic: live subscriptions and paged history of one site's event stream.

Both read the site's stream on the event bus (`services.platform.events.bus`); cursors and page
tokens handed to callers are the bus positions wrapped by `tokens` (opaque, bound to the site).

Subscribe: starts after `start_cursor`, at the oldest retained event (`from_beginning`), or at
the stream's head when neither is set. It sends a heartbeat carrying the position reached when no
matching event went out for `heartbeat_s`, and ends the stream with UNAVAILABLE after
`max_stream_s` so long-lived consumers spread across servers. Falling behind retention ends it
with CURSOR_EXPIRED. A site holds at most so many streams at once (`slots`, RESOURCE_EXHAUSTED
SUBSCRIPTION_LIMIT_REACHED beyond).

ListEvents: a page is one bounded scan of the stream (at most `bus.DEFAULT_MAX_SCAN` entries),
so a narrow filter over a long history can return a short (even empty) page with a next-page
token; the token is empty only when nothing further matched when the page was read.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from ecom.events.v1 import event_pb2, events_service_pb2
from services.events import tokens
from services.events.slots import LocalSlots, StreamSlots
from services.events.types import check_types
from services.platform import errors
from services.platform.events.bus import CursorExpired, EventBus

Event = event_pb2.Event
Heartbeat = events_service_pb2.Heartbeat

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_ENTITY_IDS = 100
_SUBSCRIBE_BATCH = 100
#: Position before any event: where a consumer of an empty stream stands.
_START = "0-0"


def _cursor_expired(exc: CursorExpired) -> errors.DomainError:
    metadata = {}
    if exc.oldest_event_time is not None:
        metadata["oldest_event_time"] = exc.oldest_event_time.isoformat().replace("+00:00", "Z")
    return errors.OutOfRange(
        "CURSOR_EXPIRED",
        "the position is older than the retained events; resubscribe from the beginning",
        metadata=metadata,
    )


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return stamp


def _filter_digest(event_filter: events_service_pb2.EventFilter, desc: bool) -> str:
    raw = event_filter.SerializeToString(deterministic=True) + (b"\x01" if desc else b"\x00")
    return hashlib.sha256(raw).hexdigest()[:24]


def _where(event_filter: events_service_pb2.EventFilter) -> Callable[[Event], bool] | None:
    entity_ids = frozenset(event_filter.entity_ids)
    window = event_filter.event_time
    lower = window.start if window.HasField("start") else None
    upper = window.end if window.HasField("end") else None
    if not entity_ids and lower is None and upper is None:
        return None

    def where(event: Event) -> bool:
        if entity_ids and event.entity_id not in entity_ids:
            return False
        if lower is not None and _before(event.event_time, lower):
            return False
        return upper is None or _before(event.event_time, upper)

    return where


def _before(a: timestamp_pb2.Timestamp, b: timestamp_pb2.Timestamp) -> bool:
    return (a.seconds, a.nanos) < (b.seconds, b.nanos)


def _check_filter(
    event_filter: events_service_pb2.EventFilter, violations: errors.Violations
) -> None:
    check_types(event_filter.types, "filter.types", violations)
    if len(event_filter.entity_ids) > MAX_ENTITY_IDS:
        violations.add("filter.entity_ids", f"at most {MAX_ENTITY_IDS} entries")
    window = event_filter.event_time
    if window.HasField("start") and window.HasField("end") and _before(window.end, window.start):
        violations.add("filter.event_time", "`start` is after `end`")


class EventFeed:
    def __init__(
        self,
        bus: EventBus,
        *,
        slots: StreamSlots | None = None,
        heartbeat_s: float = 15.0,
        max_stream_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._slots: StreamSlots = slots or LocalSlots()
        self._heartbeat_s = heartbeat_s
        self._max_stream_s = max_stream_s
        self._clock = clock

    async def list_events(
        self,
        site: str,
        *,
        event_filter: events_service_pb2.EventFilter,
        descending: bool,
        page_size: int,
        page_token: str,
    ) -> tuple[list[Event], str]:
        violations = errors.Violations()
        _check_filter(event_filter, violations)
        if page_size < 0:
            violations.add("page_size", "must not be negative")
        violations.raise_if_any()
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        digest = _filter_digest(event_filter, descending)
        after = tokens.decode_page_token(site, page_token, digest) if page_token else None
        try:
            batch = await self._bus.scan(
                site,
                after=after,
                types=list(event_filter.types),
                where=_where(event_filter),
                limit=limit,
                reverse=descending,
            )
        except CursorExpired as exc:
            raise _cursor_expired(exc) from exc
        for event in batch.events:
            event.cursor = tokens.encode_cursor(site, event.cursor)
        next_token = ""
        if batch.more and batch.position is not None:
            next_token = tokens.encode_page_token(site, digest, batch.position)
        return batch.events, next_token

    async def subscribe(
        self, site: str, *, types: Sequence[str], start_cursor: str, from_beginning: bool
    ) -> AsyncIterator[Event | Heartbeat]:
        """Validate the request and fix the start position now; iterate the result to stream.

        Once this returns, every event published afterwards will be delivered (the servicer
        tells the client so by sending the response headers).
        """
        violations = errors.Violations()
        check_types(types, "types", violations)
        if start_cursor and from_beginning:
            violations.add("from_beginning", "must not be set together with `start_cursor`")
        violations.raise_if_any()
        position: str | None
        if start_cursor:
            position = tokens.decode_cursor(site, start_cursor, "start_cursor")
        elif from_beginning:
            position = None
        else:
            position = await self._bus.head(site) or _START
        return self._stream(site, list(types), position)

    async def _stream(
        self, site: str, types: list[str], position: str | None
    ) -> AsyncIterator[Event | Heartbeat]:
        # The lease is taken here, not in `subscribe`: only a running generator is sure to
        # reach its `finally` and give the lease back.
        lease = await self._slots.acquire(site)
        if lease is None:
            raise errors.ResourceExhausted(
                "SUBSCRIPTION_LIMIT_REACHED",
                "the site has the maximum number of open event streams",
            )
        try:
            async for item in self._follow(site, types, position, lease):
                yield item
        finally:
            await self._slots.release(site, lease)

    async def _follow(
        self, site: str, types: list[str], position: str | None, lease: str
    ) -> AsyncIterator[Event | Heartbeat]:
        started = last_sent = renewed = self._clock()
        while True:
            if self._clock() - renewed >= self._slots.renew_every_s:
                await self._slots.renew(site, lease)
                renewed = self._clock()
            now = self._clock()
            life_left = self._max_stream_s - (now - started)
            if life_left <= 0:
                raise errors.Unavailable(
                    "STREAM_LIFETIME_REACHED",
                    "the stream reached its maximum life; subscribe again with the last cursor",
                    retry_after_s=0.0,
                )
            quiet_left = self._heartbeat_s - (now - last_sent)
            renew_left = self._slots.renew_every_s - (now - renewed)
            try:
                batch = await self._bus.scan(
                    site,
                    after=position,
                    types=types,
                    limit=_SUBSCRIBE_BATCH,
                    wait_s=max(min(quiet_left, life_left, renew_left), 0.001),
                )
            except CursorExpired as exc:
                raise _cursor_expired(exc) from exc
            for event in batch.events:
                event.cursor = tokens.encode_cursor(site, event.cursor)
                yield event
                last_sent = self._clock()
            position = batch.position
            if self._clock() - last_sent >= self._heartbeat_s:
                cursor = tokens.encode_cursor(site, position or _START)
                yield Heartbeat(cursor=cursor, server_time=_now())
                last_sent = self._clock()

"""The event bus: one append-only stream of `ecom.events.v1.Event` per site.

Two backends with the same semantics:
- `RedisStreamBus`: one Redis stream per site, `<prefix>events:<site>`. Entries are appended with
  XADD and trimmed by length (`MAXLEN ~`) and by age (`XTRIM MINID ~`, the retention period);
  cursors are stream ids; waiting for new entries is `XREAD BLOCK`.
- `InProcessBus`: the same in memory for the embedded single-process mode, bounded per site by
  length and age, with an `asyncio.Condition` per site for wake-ups.

Cursors are stream ids (`<ms>-<seq>`, the in-process bus mints the same shape): an event's cursor
is its position, and reading "after" a cursor returns the entries strictly after it. They are the
bus's raw positions: the Events service wraps them in opaque, site-bound tokens.

Type filters hold exact types or prefixes ending in '.', ORed; an empty filter matches all.

Every event is also appended, in the same step, to the all-sites stream `ALL_SITES`: the suite's
own consumers (orders applying fulfillment status, recommendations learning from orders) read
that one stream instead of one per site. Site names cannot collide with it (tokens only carry
sites matching `identity.SITE_PATTERN`).

Everything is built on `scan`, which examines stream entries in order (forward or backward) and
reports how far it got (`Batch.position`) even when nothing matched, so a narrow subscriber can
still advance and heartbeat its position. A forward scan from a cursor whose successors were
trimmed away raises `CursorExpired`.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import redis.asyncio

from ecom.events.v1 import event_pb2

Event = event_pb2.Event
Where = Callable[[Event], bool]

#: The stream every event is appended to besides its site's; read by the suite's consumers.
ALL_SITES = "*"

_CURSOR = re.compile(r"^(\d{1,20})-(\d{1,20})$")
_CHUNK = 200
DEFAULT_RETENTION_S = 7 * 24 * 3600
DEFAULT_MAX_SCAN = 10_000


class CursorError(ValueError):
    """A cursor that is not one of this bus's positions."""


class CursorExpired(Exception):
    """Events after the cursor were removed by retention; `oldest_event_time` is the oldest
    event still retained (None when the stream is empty)."""

    def __init__(self, cursor: str, oldest_event_time: datetime | None) -> None:
        super().__init__(f"events after cursor {cursor} are no longer retained")
        self.cursor = cursor
        self.oldest_event_time = oldest_event_time


def parse_cursor(cursor: str) -> tuple[int, int]:
    match = _CURSOR.match(cursor)
    if not match:
        raise CursorError(f"malformed cursor {cursor!r}")
    return int(match.group(1)), int(match.group(2))


def matches_type(event_type: str, types: Sequence[str]) -> bool:
    """Exact types or prefixes ending in '.'; an empty filter matches every type."""
    if not types:
        return True
    return any(event_type.startswith(t) if t.endswith(".") else event_type == t for t in types)


@dataclass(frozen=True)
class Batch:
    """What a scan found.

    `events`: the matching events, each with `cursor` set. `position`: the cursor up to which the
    stream was examined (every matching entry up to it is in `events` or earlier batches); the
    starting cursor when nothing was examined. `more`: more matching events may follow
    `position` (the limit or the scan budget was reached).
    """

    events: list[Event]
    position: str | None
    more: bool


@dataclass(frozen=True)
class _Entry:
    cursor: str
    type: str
    data: bytes


class EventBus(Protocol):
    async def publish(self, events: Sequence[Event]) -> None:
        """Append events to their sites' streams, in the given order."""

    async def read(
        self, site: str, *, after: str | None = None, types: Sequence[str] = (), limit: int = 100
    ) -> list[Event]:
        """Up to `limit` matching events after `after` (None: from the oldest retained)."""

    def subscribe(
        self, site: str, *, after: str | None = None, types: Sequence[str] = ()
    ) -> AsyncIterator[Event]:
        """Matching events after `after` (None: from the oldest), then live ones, forever."""

    async def scan(
        self,
        site: str,
        *,
        after: str | None = None,
        types: Sequence[str] = (),
        where: Where | None = None,
        limit: int = 100,
        reverse: bool = False,
        max_scan: int = DEFAULT_MAX_SCAN,
        wait_s: float = 0.0,
    ) -> Batch:
        """Examine entries after `after` (before it, newest first, when `reverse`), up to
        `limit` matches or `max_scan` entries; with `wait_s`, block up to that long for new
        entries when none match yet (forward only)."""

    async def head(self, site: str) -> str | None:
        """The cursor of the newest retained event (None: the stream is empty)."""

    async def close(self) -> None: ...


class _ScanningBus:
    """`read`, `subscribe` and `scan` on top of three backend primitives."""

    #: The longest one blocking wait of the backend (a subscriber loops over waits).
    max_block_s = 5.0

    async def _range(self, site: str, after: str | None, count: int, reverse: bool) -> list[_Entry]:
        raise NotImplementedError

    async def _wait(
        self, site: str, after: str | None, count: int, timeout_s: float
    ) -> list[_Entry]:
        raise NotImplementedError

    async def _check_retention(self, site: str, after: str) -> None:
        raise NotImplementedError

    async def read(
        self, site: str, *, after: str | None = None, types: Sequence[str] = (), limit: int = 100
    ) -> list[Event]:
        return (await self.scan(site, after=after, types=types, limit=limit)).events

    async def subscribe(
        self, site: str, *, after: str | None = None, types: Sequence[str] = ()
    ) -> AsyncIterator[Event]:
        position = after
        while True:
            batch = await self.scan(
                site, after=position, types=types, limit=_CHUNK, wait_s=self.max_block_s
            )
            for event in batch.events:
                yield event
            position = batch.position

    async def scan(
        self,
        site: str,
        *,
        after: str | None = None,
        types: Sequence[str] = (),
        where: Where | None = None,
        limit: int = 100,
        reverse: bool = False,
        max_scan: int = DEFAULT_MAX_SCAN,
        wait_s: float = 0.0,
    ) -> Batch:
        if limit <= 0:
            raise ValueError("limit must be positive")
        if after is not None:
            parse_cursor(after)
            if not reverse:
                await self._check_retention(site, after)
        events: list[Event] = []
        position = after
        examined = 0
        waited = wait_s <= 0 or reverse
        while True:
            budget = max_scan - examined
            if budget <= 0:
                return Batch(events, position, more=True)
            count = min(_CHUNK, budget)
            chunk = await self._range(site, position, count, reverse)
            if not chunk and not events and not waited:
                waited = True
                chunk = await self._wait(site, position, count, min(wait_s, self.max_block_s))
            for entry in chunk:
                examined += 1
                event = _match(entry, types, where)
                if event is not None:
                    if len(events) == limit:
                        return Batch(events, position, more=True)
                    events.append(event)
                position = entry.cursor
            if len(chunk) < count:  # reached the end of the stream
                return Batch(events, position, more=False)


def _match(entry: _Entry, types: Sequence[str], where: Where | None) -> Event | None:
    if not matches_type(entry.type, types):
        return None
    event = Event.FromString(entry.data)
    event.cursor = entry.cursor
    if where is not None and not where(event):
        return None
    return event


def _encode(event: Event) -> bytes:
    stored = Event()
    stored.CopyFrom(event)
    stored.ClearField("cursor")
    return stored.SerializeToString(deterministic=True)


def _event_time(data: bytes) -> datetime:
    return Event.FromString(data).event_time.ToDatetime(tzinfo=UTC)


# --- in-process ------------------------------------------------------------------------------


@dataclass
class _SiteLog:
    keys: list[tuple[int, int]] = field(default_factory=list)
    entries: list[_Entry] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    #: The newest position removed by retention ((0, 0): nothing removed yet).
    trimmed_through: tuple[int, int] = (0, 0)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class InProcessBus(_ScanningBus):
    """The bus of the embedded single-process mode: per-site logs in memory."""

    def __init__(self, *, max_len: int = 10_000, retention_s: float = DEFAULT_RETENTION_S) -> None:
        self._max_len = max_len
        self._retention_s = retention_s
        self._sites: dict[str, _SiteLog] = {}
        self._last: tuple[int, int] = (0, 0)

    def _log(self, site: str) -> _SiteLog:
        log = self._sites.get(site)
        if log is None:
            log = self._sites[site] = _SiteLog()
        return log

    def _next_key(self) -> tuple[int, int]:
        ms = time.time_ns() // 1_000_000
        last_ms, last_seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._last

    async def publish(self, events: Sequence[Event]) -> None:
        touched: set[str] = set()
        now = time.time()
        for event in events:
            if not event.site or event.site == ALL_SITES:
                raise ValueError("an event needs a site")
            data = _encode(event)
            for stream in (event.site, ALL_SITES):
                log = self._log(stream)
                key = self._next_key()
                log.keys.append(key)
                log.entries.append(_Entry(f"{key[0]}-{key[1]}", event.type, data))
                log.times.append(now)
                touched.add(stream)
        for site in touched:
            log = self._sites[site]
            self._trim(log, now)
            async with log.changed:
                log.changed.notify_all()

    def _trim(self, log: _SiteLog, now: float) -> None:
        cut = max(len(log.keys) - self._max_len, 0)
        cut = max(cut, bisect.bisect_left(log.times, now - self._retention_s))
        if cut:
            log.trimmed_through = log.keys[cut - 1]
            del log.keys[:cut], log.entries[:cut], log.times[:cut]

    async def _range(self, site: str, after: str | None, count: int, reverse: bool) -> list[_Entry]:
        log = self._sites.get(site)
        if log is None:
            return []
        if reverse:
            end = (
                len(log.keys)
                if after is None
                else bisect.bisect_left(log.keys, parse_cursor(after))
            )
            return log.entries[max(end - count, 0) : end][::-1]
        start = 0 if after is None else bisect.bisect_right(log.keys, parse_cursor(after))
        return log.entries[start : start + count]

    async def _wait(
        self, site: str, after: str | None, count: int, timeout_s: float
    ) -> list[_Entry]:
        log = self._log(site)
        floor = (-1, -1) if after is None else parse_cursor(after)

        def arrived() -> bool:
            return bool(log.keys) and log.keys[-1] > floor

        try:
            async with asyncio.timeout(timeout_s), log.changed:
                await log.changed.wait_for(arrived)
        except TimeoutError:
            return []
        return await self._range(site, after, count, reverse=False)

    async def _check_retention(self, site: str, after: str) -> None:
        log = self._sites.get(site)
        if log is not None and log.trimmed_through > parse_cursor(after):
            oldest = _event_time(log.entries[0].data) if log.entries else None
            raise CursorExpired(after, oldest)

    async def head(self, site: str) -> str | None:
        log = self._sites.get(site)
        return log.entries[-1].cursor if log and log.entries else None

    async def close(self) -> None:
        self._sites.clear()


# --- Redis -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(fields: dict[Any, Any], name: str) -> Any:
    value = fields.get(name)
    return fields.get(name.encode()) if value is None else value


def _entry(raw_id: Any, fields: dict[Any, Any]) -> _Entry:
    # The payload is base64 so the bus works whether or not the client decodes responses.
    return _Entry(_text(raw_id), _text(_field(fields, "t")), base64.b64decode(_field(fields, "e")))


class RedisStreamBus(_ScanningBus):
    """Redis Streams: `<prefix>events:<site>`, trimmed by length and by age.

    Blocking reads wait at most `max_block_s`, and at most half the client's socket timeout.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        key_prefix: str = "ecom:",
        *,
        max_len: int = 1_000_000,
        retention_s: float = DEFAULT_RETENTION_S,
        max_block_s: float = 2.0,
    ) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._max_len = max_len
        self._retention_s = retention_s
        # A blocking read that outlasts the client's socket timeout fails as a timeout.
        socket_timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
        if socket_timeout:
            max_block_s = min(max_block_s, float(socket_timeout) / 2)
        self.max_block_s = max_block_s

    def key(self, site: str) -> str:
        return f"{self._prefix}events:{site}"

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        # MULTI/EXEC: an event lands in its site's stream and the all-sites stream together.
        pipe = self._redis.pipeline(transaction=True)
        sites: list[str] = [ALL_SITES]
        for event in events:
            if not event.site or event.site == ALL_SITES:
                raise ValueError("an event needs a site")
            fields = {"t": event.type, "e": base64.b64encode(_encode(event))}
            for stream in (event.site, ALL_SITES):
                pipe.xadd(self.key(stream), fields, maxlen=self._max_len, approximate=True)  # type: ignore[arg-type]
            if event.site not in sites:
                sites.append(event.site)
        oldest_kept_ms = int((time.time() - self._retention_s) * 1000)
        for site in sites:
            pipe.xtrim(self.key(site), minid=f"{oldest_kept_ms}-0", approximate=True)
        await pipe.execute()

    async def _range(self, site: str, after: str | None, count: int, reverse: bool) -> list[_Entry]:
        key = self.key(site)
        raw: Any
        if reverse:
            top = "+" if after is None else f"({after}"
            raw = await self._redis.xrevrange(key, max=top, min="-", count=count)
        else:
            bottom = "-" if after is None else f"({after}"
            raw = await self._redis.xrange(key, min=bottom, max="+", count=count)
        return [_entry(raw_id, fields) for raw_id, fields in raw]

    async def _wait(
        self, site: str, after: str | None, count: int, timeout_s: float
    ) -> list[_Entry]:
        key = self.key(site)
        reply: Any = await self._redis.xread(
            {key: after or "0-0"}, count=count, block=max(int(timeout_s * 1000), 1)
        )
        # redis-py can swallow a cancellation that lands inside a blocking read (it drops the
        # connection and returns); the request is still recorded on the task, so honour it here
        # or the consumer, relay or subscription loop around this call would never stop.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        if not reply:
            return []
        streams = reply.items() if isinstance(reply, dict) else reply
        return [_entry(raw_id, fields) for _, entries in streams for raw_id, fields in entries]

    async def _check_retention(self, site: str, after: str) -> None:
        try:
            info = await self._redis.xinfo_stream(self.key(site))
        except redis.ResponseError:
            return  # no stream yet: nothing was removed
        first = info.get("first-entry")
        added, length = info.get("entries-added"), info.get("length")
        if first is None or (added is not None and int(added) == int(length or 0)):
            return  # Redis 7 says nothing was ever trimmed
        # Trimming removes the oldest entries, so events after the cursor may be gone only when
        # the oldest kept entry is younger than the cursor. (When just the cursor's own entry
        # went, this errs towards "expired": the consumer is at the very edge of retention.)
        if parse_cursor(_text(first[0])) > parse_cursor(after):
            oldest = _event_time(base64.b64decode(_field(first[1], "e")))
            raise CursorExpired(after, oldest)

    async def head(self, site: str) -> str | None:
        raw = await self._redis.xrevrange(self.key(site), max="+", min="-", count=1)
        return _text(raw[0][0]) if raw else None

    async def close(self) -> None:
        """The client belongs to the runtime; nothing to release here."""

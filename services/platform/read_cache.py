"""Values read from a service's database, kept until anything is committed to it.

For hot reads of data that rarely changes (a catalog's products, a site's providers). Exact, not
eventually consistent: before each use the cache asks the database for its data version
(`Database.data_version`, which moves with every commit of any connection of any process) and
forgets everything when it moved. So a value served from the cache is the value a read at that
moment would return. Backends that cannot tell (PostgreSQL) get no caching: `version()` answers
None and callers read the database as before.

Use:

    version = await cache.version()            # before reading
    value = cache.get(version, key)            # None: not cached
    if value is None:
        value = await read_from_database()
        await cache.put(version, key, value)   # kept only if nothing changed meanwhile

A value is kept only when the version is the same after the read as before it, so every value
cached under one version is that version's state of the database, and values taken under one
version are consistent with one another (like reads of one transaction).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from services.platform.db import Database

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 10_000


class ReadCache(Generic[K, V]):
    def __init__(self, database: Database, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._database = database
        self._max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._version: int | None = None

    async def version(self) -> int | None:
        """The database's data version now (forgetting every value of an older one); None when
        nothing may be cached."""
        version = await self._database.data_version()
        if version != self._version:
            self._entries.clear()
            self._version = version
        return version

    def get(self, version: int | None, key: K) -> V | None:
        """The value cached for `key` at `version` (from `version()`), if any."""
        if version is None or version != self._version:
            return None
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    async def put(self, version: int | None, key: K, value: V) -> None:
        """Keep `value`, read after `version()` answered `version`, if the data is still at
        that version (otherwise the read may have seen some of a later commit)."""
        await self.put_many(version, ((key, value),))

    async def put_many(self, version: int | None, items: Iterable[tuple[K, V]]) -> None:
        if version is None or version != self._version:
            return
        if await self.version() != version:
            return
        for key, value in items:
            self._entries[key] = value
            self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

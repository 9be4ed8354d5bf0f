"""Per-request plumbing: work shared by the concurrently evaluated algorithms of one request
(one catalog or provider call however many algorithms need its answer), and the request's
deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Flights(Generic[K, V]):
    """Runs each keyed job once; every caller of `get` with that key waits for the same job.

    Jobs run as tasks and callers wait through `asyncio.shield`, so a caller that is cancelled
    (an algorithm after the winner) does not cancel a job another caller still waits for.
    `close` cancels what is left when the request ends.
    """

    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Task[V]] = {}

    def start(self, key: K, job: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        task = self._tasks.get(key)
        if task is None:

            async def run() -> V:
                return await job()

            task = self._tasks[key] = asyncio.ensure_future(run())
        return task

    async def wait(self, key: K) -> V:
        """Wait for a job `start` began."""
        return await asyncio.shield(self._tasks[key])

    async def get(self, key: K, job: Callable[[], Awaitable[V]]) -> V:
        return await asyncio.shield(self.start(key, job))

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        # Retrieve every outcome, so no "exception was never retrieved" is logged for a job
        # whose only waiters were cancelled.
        await asyncio.gather(*tasks, return_exceptions=True)


class Deadline:
    """The time a request has left: None when the caller set no deadline."""

    def __init__(self, remaining_s: float | None, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._end = None if remaining_s is None else clock() + remaining_s

    def remaining_s(self) -> float | None:
        if self._end is None:
            return None
        return max(self._end - self._clock(), 0.0)

"""Per-request plumbing: work shared by the concurrently evaluated algorithms of one request
(one catalog or provider call however many algorithms need its answer). The request's deadline
is the platform's `services.platform.deadlines.Deadline`."""

from __future__ import annotations

import asyncio
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

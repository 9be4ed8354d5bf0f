"""Shared per-request work: one job per key whatever the number of waiters, and a waiter's
cancellation does not cancel a job others wait for."""

from __future__ import annotations

import asyncio

from services.platform.deadlines import Deadline
from services.recommendations.flights import Flights


async def test_one_job_per_key_and_cancelled_waiters_do_not_cancel_it() -> None:
    flights: Flights[str, int] = Flights()
    runs = 0
    release = asyncio.Event()

    async def job() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return 7

    first = asyncio.ensure_future(flights.get("k", job))
    second = asyncio.ensure_future(flights.get("k", job))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    release.set()
    assert await second == 7
    assert runs == 1
    assert first.cancelled()
    await flights.close()


async def test_close_cancels_unfinished_jobs() -> None:
    flights: Flights[str, int] = Flights()
    never = asyncio.Event()

    async def job() -> int:
        await never.wait()
        return 1

    task = flights.start("k", job)
    await flights.close()
    assert task.cancelled()


def test_deadline() -> None:
    now = [100.0]
    deadline = Deadline(2.0, clock=lambda: now[0])
    now[0] += 0.5
    assert deadline.remaining() == 1.5
    now[0] += 5
    assert deadline.remaining() == 0.0
    assert Deadline(None).remaining() is None

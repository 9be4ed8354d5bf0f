"""A bounded closed-loop load generator: N concurrent callers, a time and a request limit."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import grpc

from bench.stats import RunStats

Call = Callable[[], Awaitable[object]]


async def drive(
    name: str, call: Call, *, concurrency: int, seconds: float, max_requests: int
) -> RunStats:
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def caller() -> None:
        nonlocal errors
        while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
            begin = time.perf_counter()
            try:
                await call()
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - begin) * 1000)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return RunStats(name, len(latencies), errors, elapsed, tuple(latencies))


async def warm_up(call: Call, count: int = 50) -> None:
    for _ in range(count):
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call()

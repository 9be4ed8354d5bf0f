"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, interval_s: float = 0.01
) -> None:
    """Wait until `check()` is true; fail the test when it is not within `timeout_s`.

    For conditions another task or process brings about with nothing to await on."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout_s}s")
        await asyncio.sleep(interval_s)

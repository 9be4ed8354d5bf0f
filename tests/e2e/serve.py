"""Run `ecom serve` as a separate process for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_BANNER = re.compile(r"ecom-grpc listening on (\S+):(\d+)")


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    port: int
    services: list[str]
    admin_token: str
    output: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def suite_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without ECOM_* settings, plus an isolated data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOM_")}
    env["ECOM_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def ecom_serve(
    env: Mapping[str, str], *args: str, timeout_s: float = 60.0
) -> Iterator[ServeProcess]:
    """Start `ecom serve --port 0 ...`, wait for its banner, stop it with SIGTERM at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", "0", *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("try:"):
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(timeout_s) or process.poll() is not None:
            raise RuntimeError("ecom serve did not start:\n" + "\n".join(lines))
        served = _parse_banner(process, lines)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _parse_banner(process: subprocess.Popen[str], lines: list[str]) -> ServeProcess:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = "\n".join(lines)
        match = _BANNER.search(text)
        if match and "admin token" in text:
            start = lines.index(next(line for line in lines if _BANNER.search(line)))
            services = []
            for line in lines[start + 1 :]:
                if not line.startswith("  "):
                    break
                services.append(line.strip())
            token_line = lines[lines.index(next(ln for ln in lines if "admin token" in ln)) + 1]
            return ServeProcess(process, int(match.group(2)), services, token_line.strip(), lines)
        time.sleep(0.05)
    raise RuntimeError("no banner from ecom serve:\n" + "\n".join(lines))

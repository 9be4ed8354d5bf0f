"""Server bootstrap: turns service modules into one running grpc.aio server.

Every server gets the call interceptor (identity, access, error mapping), `grpc.health.v1`
health that follows its dependencies, server reflection, message-size limits and keepalive,
and a graceful stop that lets in-flight calls finish while refusing new ones.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.platform.events.relay import OutboxRelay
from services.platform.interceptors import CallInterceptor
from services.platform.migrations import migrate
from services.platform.module import Binding, ServiceModule
from services.platform.runtime import Runtime, channel_options
from services.platform.tasks import cancel_and_wait

log = logging.getLogger("ecom.server")

HEALTH_INTERVAL_S = 2.0
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class RunningServer:
    server: grpc.aio.Server
    runtime: Runtime
    port: int
    service_names: list[str]
    health: health.aio.HealthServicer
    bindings: list[Binding]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, give in-flight ones `grace` seconds, then release everything."""
        if grace is None:
            grace = float(self.runtime.config["SHUTDOWN_GRACE_S"])
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await cancel_and_wait(self.tasks)
        for binding in self.bindings:
            if binding.close is not None:
                await binding.close()
        await self.runtime.close()


async def start_server(
    runtime: Runtime,
    modules: Sequence[ServiceModule],
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningServer:
    """Migrate, bind and start `modules` on one server at host:port (0 picks a free port)."""
    server = grpc.aio.server(
        interceptors=[CallInterceptor(runtime.tokens)],
        options=[*channel_options(runtime.config), ("grpc.so_reuseport", 1)],
    )
    # Every service with tables also gets the platform's tables (outbox, idempotency keys) and a
    # relay that publishes its outbox, so no service can forget either.
    runtime.local_targets = frozenset(module.name for module in modules)
    relays: list[Callable[[], Awaitable[None]]] = []
    for module in modules:
        if module.migrations is not None:
            database = runtime.database(module.name)
            await migrate(database, module.migrations)
            relays.append(OutboxRelay(database, runtime.bus).run)
    bindings = [await module.bind(runtime, server) for module in modules]
    names = [name for binding in bindings for name in binding.service_names]

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    bound_port = server.add_insecure_port(f"{host}:{port}")
    if bound_port == 0:
        raise OSError(f"could not listen on {host}:{port}")
    await server.start()
    runtime.self_address = f"{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{bound_port}"

    running = RunningServer(server, runtime, bound_port, names, health_servicer, bindings)
    await _update_health(running)
    running.tasks.append(asyncio.create_task(_watch_health(running), name="health"))
    for job in (*relays, *(job for binding in bindings for job in binding.background)):
        running.tasks.append(asyncio.create_task(_supervised(job), name=job.__qualname__))
    log.info("listening on %s:%d: %s", host, bound_port, ", ".join(names))
    return running


async def serve_until_signal(
    runtime: Runtime,
    modules: Sequence[ServiceModule],
    host: str,
    port: int,
    on_ready: Callable[[RunningServer], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (in-flight calls finish)."""
    running = await start_server(runtime, modules, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if on_ready is not None:
        on_ready(running)
    await stop.wait()
    log.info("stopping: in-flight calls get %ss", runtime.config["SHUTDOWN_GRACE_S"])
    await running.stop()


async def _dependencies_ok(runtime: Runtime) -> bool:
    for name, check in runtime.health_checks.items():
        try:
            ok = await asyncio.wait_for(check(), timeout=HEALTH_INTERVAL_S)
        except Exception:  # noqa: BLE001 - any failure of a probe means "not serving"
            ok = False
        if not ok:
            log.warning("health check %s failed", name)
            return False
    return True


async def _update_health(running: RunningServer) -> None:
    status = _SERVING if await _dependencies_ok(running.runtime) else _NOT_SERVING
    for name in ("", *running.service_names):
        await running.health.set(name, status)


async def _watch_health(running: RunningServer) -> None:
    while True:
        await asyncio.sleep(HEALTH_INTERVAL_S)
        await _update_health(running)


async def _supervised(job: Callable[[], Awaitable[None]]) -> None:
    """Run a background job forever: a crash is logged and the job restarted after a pause."""
    while True:
        try:
            await job()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "background job %s crashed; restarting", getattr(job, "__qualname__", job)
            )
            await asyncio.sleep(1.0)

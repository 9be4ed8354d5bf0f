"""The `ecom` command: run any subset of the suite, mint tokens, apply migrations."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence

from services import targets
from services.platform.config import Config, ConfigError, describe_settings, load_config
from services.platform.identity import Role, TokenService

log = logging.getLogger("ecom")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"ecom: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every step at INFO; the suite logs one line per migrated database.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        result: int = args.run(config, args)
    except (targets.UnknownTarget, ConfigError) as exc:
        print(f"ecom: {exc}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecom", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run services (all of them by default)")
    serve.add_argument("--services", help="comma-separated targets, e.g. cart,checkout")
    serve.add_argument("--host", help="bind address (default ECOM_HOST)")
    serve.add_argument("--port", type=int, help="port (default ECOM_PORT; 0 = any free port)")
    serve.add_argument("--workers", type=int, help="processes sharing the port (SO_REUSEPORT)")
    serve.set_defaults(run=_serve_command)

    token = commands.add_parser("token", help="mint a bearer token for grpcurl or a client")
    token.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    token.add_argument("--site", default="demo")
    token.add_argument("--sub", default="admin")
    token.add_argument("--ttl", type=int, default=24 * 3600, help="lifetime in seconds")
    token.set_defaults(run=_token_command)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--services", help="comma-separated targets (default: all)")
    migrate.set_defaults(run=_migrate_command)

    health = commands.add_parser("health", help="exit 0 when a server reports SERVING")
    health.add_argument("--address", default="127.0.0.1:50051")
    health.add_argument("--service", default="", help="a proto service name ('' = the server)")
    health.add_argument("--timeout", type=float, default=4.0, help="seconds")
    health.set_defaults(run=_health_command)

    show = commands.add_parser("config", help="list every ECOM_* setting and its default")
    show.set_defaults(run=lambda config, args: print(describe_settings()) or 0)
    return parser


def _selected(spec: str | None) -> list[str]:
    if not spec:
        return targets.available()
    names = [name.strip() for name in spec.split(",") if name.strip()]
    for name in names:
        targets.load(name)
    return names


def _token_command(config: Config, args: argparse.Namespace) -> int:
    tokens = TokenService(config.auth_secret)
    print(tokens.mint(role=Role(args.role), site=args.site, subject=args.sub, ttl_s=args.ttl))
    return 0


def _health_command(config: Config, args: argparse.Namespace) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(args.address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as exc:
            print(f"ecom: {args.address}: {exc.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(status)
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def _migrate_command(config: Config, args: argparse.Namespace) -> int:
    from services.platform.migrations import migrate
    from services.platform.runtime import Runtime

    async def run() -> None:
        runtime = Runtime(config)
        try:
            for name in _selected(args.services):
                module = targets.load(name)
                if module.migrations is not None:
                    await migrate(runtime.database(name), module.migrations)
                    print(f"migrated {name}")
        finally:
            await runtime.close()

    asyncio.run(run())
    return 0


def _serve_command(config: Config, args: argparse.Namespace) -> int:
    names = _selected(args.services)
    host = args.host or str(config["HOST"])
    port = int(config["PORT"]) if args.port is None else args.port
    workers = int(config["WORKERS"]) if args.workers is None else args.workers
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if workers > 1 and not config.redis_url:
        raise ConfigError(
            "more than one worker needs ECOM_REDIS_URL: the in-process session store and event "
            "bus only work inside one process"
        )
    if workers == 1:
        asyncio.run(_serve(config, names, host, port, announce=True))
        return 0
    if port == 0:
        port = _free_port(host)
    return _run_workers(config, names, host, port, workers)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _run_workers(config: Config, names: list[str], host: str, port: int, workers: int) -> int:
    """Fork the workers before any gRPC object exists; each binds the port with SO_REUSEPORT."""
    children = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                asyncio.run(_serve(config, names, host, port, announce=index == 0))
            except BaseException:
                log.exception("worker %d failed", index)
                code = 1
            os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    return status


async def _serve(config: Config, names: list[str], host: str, port: int, announce: bool) -> None:
    from services.platform.runtime import Runtime
    from services.platform.server import RunningServer, serve_until_signal

    def ready(running: RunningServer) -> None:
        if announce:
            _announce(config, running.port, host, running.service_names)

    modules = [targets.load(name) for name in names]
    await serve_until_signal(Runtime(config), modules, host, port, on_ready=ready)


def _announce(config: Config, port: int, host: str, service_names: list[str]) -> None:
    lines = [f"ecom-grpc listening on {host}:{port}", *(f"  {name}" for name in service_names)]
    if config.env == "dev":
        # Only in dev mode: in production an admin credential must never reach the logs.
        admin = TokenService(config.auth_secret).mint(
            role=Role.ADMIN, site="demo", subject="admin", ttl_s=24 * 3600
        )
        lines += [
            "",
            "admin token for site 'demo' (24 h):",
            f"  {admin}",
            "",
            "try:",
            f"  export TOKEN={admin}",
            f"  grpcurl -plaintext {host}:{port} list",
            f"  grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{}}' {host}:{port} "
            "ecom.providers.v1.ProviderRegistryService/ListProviders",
        ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

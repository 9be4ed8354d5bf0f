"""docker-compose.yml and deploy/Dockerfile read as data, and the compose topology run as local
processes.

There is no Docker engine on the development machines (DESIGN.md section 8), so a container
becomes a process: its argv is the image's ENTRYPOINT plus the service's `command`, its
environment the image's ENV plus the service's `environment` (after compose's `${VAR}`
interpolation), and its `configs` become files. Only addresses change: every `<service>:50051`
turns into `127.0.0.1:<free port>`, and the infrastructure URLs (PostgreSQL, Redis) are replaced
by the caller's test servers.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

yaml: ModuleType | None
try:
    import yaml
except ModuleNotFoundError:  # every test that reads YAML fails (never skips) with the fix
    yaml = None

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
K8S_DIR = REPO / "deploy" / "k8s"
#: The port every service container listens on.
CONTAINER_PORT = 50051
LOCALHOST = "127.0.0.1"

#: Test-side channels: never through an HTTP proxy from the environment, and reconnect fast
#: while a server is still starting (the default backoff grows to seconds).
CHANNEL_OPTIONS = [
    ("grpc.enable_http_proxy", 0),
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 250),
]


class InterpolationError(Exception):
    """A `${VAR:?message}` variable is missing, or a `$` form compose would not accept."""


def _yaml() -> Any:
    if yaml is None:
        raise ModuleNotFoundError(
            "tests/e2e/topology.py reads docker-compose.yml and deploy/k8s with PyYAML: add "
            "'pyyaml' to the dev extras in pyproject.toml and run `make setup`"
        )
    return yaml


def read_yaml(path: Path) -> Any:
    return _yaml().safe_load(path.read_text(encoding="utf-8"))


def read_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in _yaml().safe_load_all(path.read_text(encoding="utf-8")) if doc]


# --- compose interpolation --------------------------------------------------------------------

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.DOTALL)


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's variable substitution: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?m},
    ${VAR?m}, ${VAR:+a}, ${VAR+a}."""

    def replace(match: re.Match[str]) -> str:
        braced, bare = match.group(1), match.group(2)
        if braced is None and bare is None:
            return "$"
        if bare is not None:
            return variables.get(bare, "")
        parsed = _BRACED.fullmatch(braced)
        if parsed is None:
            raise InterpolationError(f"invalid interpolation format: ${{{braced}}}")
        name, operator, argument = parsed.groups()
        value = variables.get(name)
        if operator is None:
            return value or ""
        unset = value is None or (operator.startswith(":") and value == "")
        if operator.endswith("-"):
            return argument if unset else str(value)
        if operator.endswith("+"):
            return "" if unset else argument
        if unset:
            raise InterpolationError(f"required variable {name} is missing a value: {argument}")
        return str(value)

    return _TOKEN.sub(replace, text)


def _interpolate_tree(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, variables) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate_tree(item, variables) for item in node]
    return node


# --- the image --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """What deploy/Dockerfile gives every container: ENTRYPOINT, CMD and ENV."""

    entrypoint: list[str]
    cmd: list[str]
    env: dict[str, str]


def read_dockerfile(path: Path = DOCKERFILE) -> Image:
    # Join continuation lines and drop comments: one instruction per item.
    instructions: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        instructions.append(pending + line)
        pending = ""
    entrypoint: list[str] = []
    cmd: list[str] = []
    env: dict[str, str] = {}
    for instruction in instructions:
        keyword, _, rest = instruction.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":  # a later stage starts afresh
            entrypoint, cmd, env = [], [], {}
        elif keyword in ("ENTRYPOINT", "CMD"):
            value = _yaml().safe_load(rest)
            if not isinstance(value, list):
                raise ValueError(f"{path}: use the exec (JSON) form of {keyword}: {instruction}")
            if keyword == "ENTRYPOINT":
                entrypoint = [str(part) for part in value]
            else:
                cmd = [str(part) for part in value]
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, equals, value = pair.partition("=")
                if not equals:
                    raise ValueError(f"{path}: use ENV NAME=value: {instruction}")
                env[name] = value
    return Image(entrypoint, cmd, env)


# --- the compose file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """One compose service, as the container it would start."""

    name: str
    spec: dict[str, Any]
    argv: list[str]
    environment: dict[str, str]

    @property
    def depends_on(self) -> dict[str, str]:
        """Dependency -> condition (`service_started` for the short list form)."""
        raw = self.spec.get("depends_on") or {}
        if isinstance(raw, list):
            return dict.fromkeys(raw, "service_started")
        return {name: str(value.get("condition", "service_started")) for name, value in raw.items()}

    @property
    def healthcheck(self) -> list[str] | None:
        test = (self.spec.get("healthcheck") or {}).get("test")
        if test is None:
            return None
        return ["CMD-SHELL", test] if isinstance(test, str) else [str(part) for part in test]

    @property
    def listens(self) -> bool:
        """Whether the container serves gRPC on CONTAINER_PORT (`--port 50051`)."""
        return _option(self.argv, "--port") == str(CONTAINER_PORT)


def _option(argv: list[str], name: str) -> str | None:
    for index, part in enumerate(argv[:-1]):
        if part == name:
            return argv[index + 1]
    return None


def _environment(raw: Any, variables: Mapping[str, str]) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):  # ["NAME=value", "NAME"]
        pairs = [item.partition("=") for item in raw]
        raw = {name: value if equals else None for name, equals, value in pairs}
    environment = {}
    for name, value in raw.items():
        if value is None:  # passed through from the host's environment
            if name in variables:
                environment[name] = variables[name]
            continue
        environment[name] = "true" if value is True else "false" if value is False else str(value)
    return environment


@dataclass(frozen=True)
class Compose:
    document: dict[str, Any]
    containers: dict[str, Container]

    def config_content(self, name: str) -> str:
        config = self.document["configs"][name]
        if "content" not in config:
            raise ValueError(f"config {name!r}: only inline `content` configs can run locally")
        return str(config["content"])


def load_compose(
    variables: Mapping[str, str], path: Path = COMPOSE_FILE, image: Image | None = None
) -> Compose:
    """Parse and interpolate the compose file; `variables` stands for the shell and .env."""
    image = image or read_dockerfile()
    document = _interpolate_tree(read_yaml(path), variables)
    containers = {}
    for name, spec in document["services"].items():
        if "build" in spec:
            dockerfile = Path(spec["build"].get("context", ".")) / spec["build"]["dockerfile"]
            if (path.parent / dockerfile).resolve() != DOCKERFILE.resolve():
                raise ValueError(f"{name}: built from {dockerfile}, not deploy/Dockerfile")
        entrypoint = spec.get("entrypoint", image.entrypoint)
        command = spec.get("command", image.cmd)
        argv = [
            str(part)
            for part in [
                *(shlex.split(entrypoint) if isinstance(entrypoint, str) else entrypoint),
                *(shlex.split(command) if isinstance(command, str) else command),
            ]
        ]
        environment = {**image.env, **_environment(spec.get("environment"), variables)}
        containers[name] = Container(name, spec, argv, environment)
    return Compose(document, containers)


# --- running it -------------------------------------------------------------------------------


@dataclass
class LocalProcess:
    container: Container
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def address(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _free_ports(count: int) -> list[int]:
    # Hold every probe socket until all are chosen, so the ports are distinct.
    with contextlib.ExitStack() as stack:
        probes = []
        for _ in range(count):
            probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind((LOCALHOST, 0))
            probes.append(probe)
        return [int(probe.getsockname()[1]) for probe in probes]


def _ecom_executable() -> str:
    # The console script installed next to this interpreter, as `pip install .` puts it on the
    # image's PATH.
    beside = Path(sys.executable).with_name("ecom")
    found = str(beside) if beside.exists() else shutil.which("ecom")
    if found is None:
        raise RuntimeError("no `ecom` console script: run `make setup`")
    return found


class LocalTopology:
    """The compose services as processes on 127.0.0.1. Use as a context manager: every process
    it started is gone when it exits."""

    def __init__(self, compose: Compose, workdir: Path, infrastructure: Mapping[str, str]) -> None:
        self.compose = compose
        self.workdir = workdir
        self.infrastructure = dict(infrastructure)
        listening = [c.name for c in compose.containers.values() if c.listens]
        self.ports = dict(zip(listening, _free_ports(len(listening)), strict=True))
        self.processes: dict[str, LocalProcess] = {}
        self._config_files = self._write_configs()
        names = "|".join(re.escape(name) for name in compose.containers)
        self._address = re.compile(rf"\b({names}):{CONTAINER_PORT}\b")
        self._hostname = re.compile(rf"(?:^|[/@])({names}):\d+")

    def __enter__(self) -> LocalTopology:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()

    def _write_configs(self) -> dict[str, dict[str, Path]]:
        files: dict[str, dict[str, Path]] = {}
        for container in self.compose.containers.values():
            for mount in container.spec.get("configs") or []:
                source = mount if isinstance(mount, str) else mount["source"]
                target = f"/{source}" if isinstance(mount, str) else mount.get("target", source)
                local = self.workdir / "configs" / container.name / source
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_text(self.compose.config_content(source), encoding="utf-8")
                files.setdefault(container.name, {})[target] = local
        return files

    def _localize(self, container: Container, value: str) -> str:
        value = self._address.sub(lambda m: f"{LOCALHOST}:{self.ports[m.group(1)]}", value)
        value = value.replace("0.0.0.0", LOCALHOST)
        for target, local in self._config_files.get(container.name, {}).items():
            value = value.replace(target, str(local))
        return value

    def environment(self, name: str) -> dict[str, str]:
        """The container's environment as the local process gets it."""
        container = self.compose.containers[name]
        environment = {
            key: self._localize(container, value) for key, value in container.environment.items()
        }
        environment.update(self.infrastructure)
        for key, value in environment.items():
            leftover = self._hostname.search(value)
            if leftover:
                raise ValueError(
                    f"{name}: {key}={value!r} names the compose host {leftover.group(1)!r}, "
                    "which the local topology cannot map: pass it in `infrastructure`"
                )
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            **environment,
        }

    def argv(self, name: str) -> list[str]:
        container = self.compose.containers[name]
        argv = [self._localize(container, part) for part in container.argv]
        if argv[0] == "ecom":
            argv[0] = _ecom_executable()
        if container.listens:
            argv[argv.index("--port") + 1] = str(self.ports[name])
        return argv

    def healthcheck_argv(self, name: str) -> list[str]:
        """The container's healthcheck command, aimed at the local process."""
        container = self.compose.containers[name]
        test = container.healthcheck
        if test is None or test[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError(f"{name}: no runnable healthcheck ({test})")
        port = self.ports[name]
        parts = [
            part.replace(f"127.0.0.1:{CONTAINER_PORT}", f"{LOCALHOST}:{port}").replace(
                f"localhost:{CONTAINER_PORT}", f"{LOCALHOST}:{port}"
            )
            for part in test[1:]
        ]
        if test[0] == "CMD-SHELL":
            return ["/bin/sh", "-c", parts[0]]
        if parts[0] == "ecom":  # the image's entry point, installed with the suite
            parts[0] = _ecom_executable()
        return parts

    def run(self, name: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
        """Run a one-shot container (such as `migrate`) to completion."""
        return subprocess.run(
            self.argv(name),
            env=self.environment(name),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def start(self, name: str) -> LocalProcess:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                self.argv(name),
                env=self.environment(name),
                cwd=self.workdir,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = LocalProcess(self.compose.containers[name], process, self.ports[name], log)
        self.processes[name] = started
        return started

    def terminate(self, timeout_s: float) -> dict[str, int | None]:
        """SIGTERM every running process; exit codes, None for those still running after
        `timeout_s` (all of them share that one deadline)."""
        for local in self.processes.values():
            if local.process.poll() is None:
                local.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        codes: dict[str, int | None] = {}
        for name, local in self.processes.items():
            try:
                codes[name] = local.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                codes[name] = None
        return codes

    def kill(self) -> None:
        for local in self.processes.values():
            if local.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(local.process.pid, signal.SIGKILL)
                local.process.wait()


# --- gRPC probes ------------------------------------------------------------------------------


def wait_serving(local: LocalProcess, timeout_s: float, service: str = "") -> None:
    """Wait until the process reports SERVING for `service`; fail early if it exits."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with grpc.insecure_channel(local.address, options=CHANNEL_OPTIONS) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            code = local.process.poll()
            if code is not None:
                raise AssertionError(
                    f"{local.name} exited with {code} before serving:\n{local.output()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{local.name} not SERVING after {timeout_s:.0f}s (last: {last}):\n"
                    f"{local.output()}"
                )
            try:
                reply = stub.Check(
                    health_pb2.HealthCheckRequest(service=service),
                    timeout=min(1.0, remaining),
                    wait_for_ready=True,
                )
            except grpc.RpcError as exc:
                last = str(exc.code())
            else:
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            time.sleep(0.05)


def health_status(address: str, service: str) -> str:
    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def reflected_services(address: str) -> set[str]:
    """The service names server reflection lists."""

    def requests() -> Iterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        for reply in stub.ServerReflectionInfo(requests(), timeout=5):
            return {service.name for service in reply.list_services_response.service}
    raise AssertionError(f"{address}: server reflection sent no answer")

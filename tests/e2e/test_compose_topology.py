"""The docker-compose topology, run as separate local processes against real PostgreSQL and Redis.

There is no Docker engine on the development machines (DESIGN.md section 8), so the containers of
docker-compose.yml run here as processes: the same argv (the image's `ecom` entrypoint plus each
service's command), the same environment and providers file, with `<service>:50051` mapped to
127.0.0.1 and a free port, and the database and Redis URLs pointing at the test servers. The
migrate container runs first; then every built target starts, must report SERVING, reflect its
proto services and pass its compose healthcheck, and stop cleanly on SIGTERM. Targets declared in
compose whose package is not built yet are skipped one by one, each saying so.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from collections.abc import Iterator

import grpc
import pytest

from ecom.providers.v1 import provider_pb2
from ecom.providers.v1 import provider_registry_service_pb2 as registry_pb2
from ecom.providers.v1 import provider_registry_service_pb2_grpc as registry_grpc
from services import targets
from services.platform.config import load_config
from services.platform.identity import Role, TokenService
from tests.contract.expected_rpcs import EXPECTED_RPCS
from tests.e2e.topology import (
    CHANNEL_OPTIONS,
    CONTAINER_PORT,
    K8S_DIR,
    Compose,
    InterpolationError,
    LocalTopology,
    health_status,
    load_compose,
    read_yaml,
    read_yaml_documents,
    reflected_services,
    wait_serving,
)

pytestmark = pytest.mark.e2e

SECRET = secrets.token_hex(32)
#: What the operator's shell or .env supplies to `docker compose`.
VARIABLES = {"ECOM_AUTH_SECRET": SECRET, "POSTGRES_PASSWORD": "not-used-by-local-processes"}
INFRASTRUCTURE = ("postgres", "redis", "migrate")
IMAGE = "ecom-grpc:local"

#: The proto packages each target serves (its services are those of EXPECTED_RPCS in them).
TARGET_PACKAGES: dict[str, tuple[str, ...]] = {
    "events": ("ecom.events.v1",),
    "providers": ("ecom.providers.v1",),
    "catalog": ("ecom.spi.catalog.v1", "ecom.spi.inventory.v1"),
    "shipping": ("ecom.spi.shipping_rates.v1",),
    "fees": ("ecom.spi.additional_fees.v1",),
    "validations": ("ecom.spi.validations.v1",),
    "discounts": ("ecom.discounts.v1",),
    "orders": ("ecom.orders.v1",),
    "fulfillment": ("ecom.fulfillment.v1",),
    "cart": ("ecom.cart.v1",),
    "checkout": ("ecom.checkout.v1",),
    "recommendations": ("ecom.recommendations.v1",),
}
#: Served by every process besides its target's services.
PLATFORM_SERVICES = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
#: The reference providers the compose providers file registers, by kind -> serving target.
REFERENCE_PROVIDERS = {
    "PROVIDER_KIND_CATALOG": "catalog",
    "PROVIDER_KIND_INVENTORY": "catalog",
    "PROVIDER_KIND_SHIPPING_RATES": "shipping",
    "PROVIDER_KIND_ADDITIONAL_FEES": "fees",
    "PROVIDER_KIND_VALIDATIONS": "validations",
}
START_TIMEOUT_S = 60.0
MIGRATE_TIMEOUT_S = 120.0


def _target_services(target: str) -> set[str]:
    return {name for name in EXPECTED_RPCS if name.rsplit(".", 1)[0] in TARGET_PACKAGES[target]}


def _skip_unless_built(target: str) -> None:
    if target not in targets.available():
        pytest.skip(
            f"target {target!r} is declared in docker-compose.yml but not built yet "
            f"(no package {targets.PACKAGES[target]})"
        )


@pytest.fixture(scope="module")
def compose() -> Compose:
    return load_compose(VARIABLES)


def test_targets_and_packages_agree() -> None:
    assert set(TARGET_PACKAGES) == set(targets.PACKAGES)
    for target in TARGET_PACKAGES:
        assert _target_services(target), f"{target}: no contract service in its packages"


# --- the compose file, read ---------------------------------------------------------------------


def test_compose_declares_infrastructure_and_every_target(compose: Compose) -> None:
    assert set(compose.containers) == {*INFRASTRUCTURE, *targets.PACKAGES}
    assert compose.containers["postgres"].spec["image"].startswith("postgres:16")
    assert compose.containers["redis"].spec["image"].startswith("redis:7")
    for name in ("postgres", "redis"):
        assert compose.containers[name].healthcheck, f"{name} has no healthcheck"


def test_migrate_is_a_one_shot_ecom_migrate(compose: Compose) -> None:
    migrate = compose.containers["migrate"]
    assert migrate.argv == ["ecom", "migrate"]
    assert migrate.spec["image"] == IMAGE
    assert migrate.spec.get("restart") == "no"
    assert migrate.depends_on == {"postgres": "service_healthy", "redis": "service_healthy"}
    load_config(migrate.environment)


@pytest.mark.parametrize("target", list(targets.PACKAGES))
def test_target_container(compose: Compose, target: str) -> None:
    container = compose.containers[target]
    assert container.argv == [
        *("ecom", "serve", "--services", target),
        *("--host", "0.0.0.0", "--port", str(CONTAINER_PORT)),
    ]
    assert container.spec["image"] == IMAGE
    assert container.depends_on == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert container.healthcheck and container.healthcheck[0] == "CMD"
    environment = container.environment
    config = load_config(environment)  # strict: an unknown or malformed ECOM_* fails here
    assert config.env == "prod"
    assert config.auth_secret == SECRET
    assert (config.database_url or "").startswith("postgresql://ecom:")
    assert "@postgres:5432/" in (config.database_url or "")
    assert config.redis_url == "redis://redis:6379/0"
    for peer in targets.PACKAGES:
        assert config.peer_address(peer) == f"{peer}:{CONTAINER_PORT}", peer


def test_compose_refuses_to_start_without_the_secrets() -> None:
    for missing in VARIABLES:
        variables = {k: v for k, v in VARIABLES.items() if k != missing}
        with pytest.raises(InterpolationError, match=missing):
            load_compose(variables)


# --- deploy/k8s, kept in step with compose ----------------------------------------------------


def test_k8s_declares_every_target_and_the_same_providers(compose: Compose) -> None:
    kustomization = read_yaml(K8S_DIR / "kustomization.yaml")
    assert {f"targets/{t}" for t in targets.PACKAGES} <= set(kustomization["resources"])
    config_maps = {
        doc["metadata"]["name"]: doc["data"]
        for doc in read_yaml_documents(K8S_DIR / "settings.yaml")
        if doc["kind"] == "ConfigMap"
    }
    settings = config_maps["ecom-settings"]
    load_config({**settings, "ECOM_AUTH_SECRET": SECRET})  # the secret comes from ecom-secrets
    for target in targets.PACKAGES:
        assert settings[f"ECOM_{target.upper()}_ADDR"] == f"ecom-{target}:{CONTAINER_PORT}"
        overlay = (K8S_DIR / "targets" / target / "kustomization.yaml").read_text("utf-8")
        assert f"nameSuffix: -{target}\n" in overlay
        assert f"value: {target}\n" in overlay
    assert json.loads(config_maps["ecom-providers"]["providers.json"]) == json.loads(
        compose.config_content("providers")
    )


# --- the topology, running ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def topology(
    compose: Compose,
    postgres_url: str,
    redis_url: str,
    key_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalTopology, subprocess.CompletedProcess[str]]]:
    """Migrate, then start every built target and wait until each is SERVING."""
    infrastructure = {
        "ECOM_DATABASE_URL": postgres_url,
        "ECOM_REDIS_URL": redis_url,
        # Not in compose (one suite per Redis there); here the run's prefix, so its keys are
        # cleaned up and never meet another run's.
        "ECOM_KEY_PREFIX": f"{key_prefix}compose:",
    }
    with LocalTopology(compose, tmp_path_factory.mktemp("compose"), infrastructure) as local:
        migrated = local.run("migrate", timeout_s=MIGRATE_TIMEOUT_S)
        assert migrated.returncode == 0, f"migrate failed:\n{migrated.stdout}{migrated.stderr}"
        started = [local.start(name) for name in targets.available()]
        for process in started:
            wait_serving(process, START_TIMEOUT_S)
        yield local, migrated


def test_migrate_migrates_every_built_target(
    topology: tuple[LocalTopology, subprocess.CompletedProcess[str]],
) -> None:
    _, migrated = topology
    for name in targets.available():
        if targets.load(name).migrations is not None:
            assert f"migrated {name}" in migrated.stdout.splitlines()


@pytest.mark.parametrize("target", list(targets.PACKAGES))
def test_target_serves_its_services(
    topology: tuple[LocalTopology, subprocess.CompletedProcess[str]], target: str
) -> None:
    _skip_unless_built(target)
    local, _ = topology
    process = local.processes[target]
    expected = _target_services(target)

    reflected = reflected_services(process.address)
    assert expected <= reflected, f"{target} does not reflect {expected - reflected}"
    other_targets = {
        service
        for other in TARGET_PACKAGES
        if other != target
        for service in _target_services(other)
    }
    assert not reflected & other_targets, f"{target} also serves {reflected & other_targets}"
    assert reflected >= PLATFORM_SERVICES

    for service in ("", *sorted(expected)):
        assert health_status(process.address, service) == "SERVING", service
    healthcheck = subprocess.run(
        local.healthcheck_argv(target), capture_output=True, text=True, timeout=30, check=False
    )
    assert healthcheck.returncode == 0, f"compose healthcheck failed:\n{healthcheck.stderr}"


def test_providers_file_points_at_the_peer_containers(
    topology: tuple[LocalTopology, subprocess.CompletedProcess[str]],
) -> None:
    """The compose providers file is read, and `@catalog` resolves through ECOM_CATALOG_ADDR."""
    _skip_unless_built("providers")
    local, _ = topology
    site = f"site-{uuid.uuid4().hex[:12]}"
    token = TokenService(SECRET).mint(role=Role.ADMIN, site=site, subject="compose-test")
    with grpc.insecure_channel(
        local.processes["providers"].address, options=CHANNEL_OPTIONS
    ) as channel:
        reply = registry_grpc.ProviderRegistryServiceStub(channel).ListProviders(
            registry_pb2.ListProvidersRequest(),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=10,
        )
    listed = {provider_pb2.ProviderKind.Name(p.kind): p.target for p in reply.providers}
    assert listed == {
        kind: f"127.0.0.1:{local.ports[target]}" for kind, target in REFERENCE_PROVIDERS.items()
    }


def test_sigterm_stops_every_process_cleanly(
    topology: tuple[LocalTopology, subprocess.CompletedProcess[str]],
) -> None:
    """Runs last in this module: it stops the topology the tests above share."""
    local, _ = topology
    assert local.processes, "no target was started"
    # Idle servers stop at once; the bound is the grace in-flight calls would get, plus slack.
    grace = max(
        float(load_config(local.environment(name))["SHUTDOWN_GRACE_S"]) for name in local.processes
    )
    codes = local.terminate(timeout_s=grace + 5)
    failed = {name: code for name, code in codes.items() if code != 0}
    assert not failed, "\n".join(
        f"{name} exited with {code}:\n{local.processes[name].output()}"
        for name, code in failed.items()
    )

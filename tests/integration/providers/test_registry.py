"""ProviderRegistryService on a real server (SQLite and PostgreSQL): CRUD with revisions,
request ids, validation, config-file providers, listing, CheckProvider, and ProviderClient's view
of it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2, struct_pb2
from grpc_health.v1 import health_pb2

from ecom.common.v1 import query_pb2
from ecom.providers.v1 import provider_pb2
from ecom.providers.v1 import provider_registry_service_pb2 as pb
from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping_pb2
from services.platform.config import Config, ConfigError
from services.platform.errors import Unavailable
from services.platform.identity import Role
from services.platform.providers import Kind, ProviderClient
from services.platform.providers.config_file import ID_NAMESPACE
from services.platform.providers.outcome import PROVIDER_UNAVAILABLE
from services.platform.runtime import Runtime
from tests.integration.providers.conftest import StartRegistry
from tests.integration.providers.provider_kit import (
    GET_RATES,
    SHIPPING,
    FakeClock,
    ProviderServers,
    closed_port_target,
    rates_request,
    status_details,
)

pytestmark = pytest.mark.integration

Rates = shipping_pb2.GetShippingRatesResponse
SHIPPING_KIND = provider_pb2.PROVIDER_KIND_SHIPPING_RATES
CATALOG_KIND = provider_pb2.PROVIDER_KIND_CATALOG


def shipping(
    app_id: str, target: str = "127.0.0.1:7000", **fields: object
) -> provider_pb2.Provider:
    return provider_pb2.Provider(kind=SHIPPING_KIND, app_id=app_id, target=target, **fields)  # type: ignore[arg-type]


def seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(int(value * 1e9))
    return duration


async def test_register_get_update_delete_follow_revisions(
    start_registry: StartRegistry, site: str
) -> None:
    registry = await start_registry()
    stub, md = registry.stub(), registry.admin(site)
    settings = struct_pb2.Struct()
    settings.update({"api_key": "k-1", "zones": ["eu", "us"]})

    created = (
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("acme", settings=settings)), metadata=md
        )
    ).provider
    assert uuid.UUID(created.id)
    assert created.revision == 1
    assert created.source == provider_pb2.PROVIDER_SOURCE_REGISTRY
    assert created.enabled is True
    assert created.timeout.ToMilliseconds() == 2000  # the deployment's default
    assert created.settings == settings
    assert created.created_date == created.updated_date

    fetched = (await stub.GetProvider(pb.GetProviderRequest(id=created.id), metadata=md)).provider
    assert fetched == created

    change = provider_pb2.Provider(
        id=created.id, revision=1, target="dns:///rates.internal:7001", timeout=seconds(5)
    )
    mask = field_mask_pb2.FieldMask(paths=["target", "timeout", "enabled"])
    updated = (
        await stub.UpdateProvider(
            pb.UpdateProviderRequest(provider=change, update_mask=mask), metadata=md
        )
    ).provider
    assert (updated.revision, updated.target) == (2, "dns:///rates.internal:7001")
    assert updated.timeout.ToMilliseconds() == 5000
    assert updated.enabled is False  # named in the mask and unset: reset to its default
    assert updated.settings == settings  # not in the mask: unchanged
    assert updated.updated_date.ToDatetime() >= created.updated_date.ToDatetime()

    # A writer that read revision 1 is refused, and told the current revision.
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.UpdateProvider(
            pb.UpdateProviderRequest(provider=change, update_mask=mask), metadata=md
        )
    assert stale.value.code() is grpc.StatusCode.ABORTED
    info, _, _ = status_details(stale.value)
    assert (info["reason"], info["current_revision"]) == ("REVISION_MISMATCH", "2")

    with pytest.raises(grpc.aio.AioRpcError) as stale_delete:
        await stub.DeleteProvider(pb.DeleteProviderRequest(id=created.id, revision=1), metadata=md)
    assert stale_delete.value.code() is grpc.StatusCode.ABORTED

    await stub.DeleteProvider(pb.DeleteProviderRequest(id=created.id, revision=2), metadata=md)
    for call in (
        stub.GetProvider(pb.GetProviderRequest(id=created.id), metadata=md),
        stub.DeleteProvider(pb.DeleteProviderRequest(id=created.id), metadata=md),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await call
        assert gone.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_retried_register_returns_the_first_answer(
    start_registry: StartRegistry, site: str
) -> None:
    registry = await start_registry()
    stub, md = registry.stub(), registry.admin(site)
    request_id = str(uuid.uuid4())
    request = pb.RegisterProviderRequest(provider=shipping("acme"), request_id=request_id)

    first = await stub.RegisterProvider(request, metadata=md)
    retry = await stub.RegisterProvider(request, metadata=md)
    assert retry == first

    listed = await stub.ListProviders(pb.ListProvidersRequest(), metadata=md)
    assert [p.id for p in listed.providers] == [first.provider.id]

    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("other"), request_id=request_id),
            metadata=md,
        )
    assert reused.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert status_details(reused.value)[0]["reason"] == "REQUEST_ID_REUSED"

    # Without a request id, a second register of the same app id is a duplicate.
    with pytest.raises(grpc.aio.AioRpcError) as duplicate:
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("acme")), metadata=md
        )
    assert duplicate.value.code() is grpc.StatusCode.ALREADY_EXISTS
    info, _, _ = status_details(duplicate.value)
    assert (info["reason"], info["provider_id"]) == ("PROVIDER_ALREADY_EXISTS", first.provider.id)


@pytest.mark.parametrize(
    ("provider", "fields"),
    [
        (provider_pb2.Provider(app_id="a", target="127.0.0.1:1"), {"provider.kind"}),
        (provider_pb2.Provider(kind=99, app_id="a", target="127.0.0.1:1"), {"provider.kind"}),  # type: ignore[arg-type]
        (shipping(""), {"provider.app_id"}),
        (shipping("has space"), {"provider.app_id"}),
        (shipping("x" * 101), {"provider.app_id"}),
        (shipping("a", target=""), {"provider.target"}),
        (shipping("a", target="localhost"), {"provider.target"}),
        (shipping("a", target="http://rates:80"), {"provider.target"}),
        (shipping("a", target="rates:99999"), {"provider.target"}),
        (shipping("a", timeout=seconds(31)), {"provider.timeout"}),
        (shipping("a", timeout=seconds(-1)), {"provider.timeout"}),
        (shipping("a", validate_in_cart=True), {"provider.validate_in_cart"}),
        (
            provider_pb2.Provider(kind=0, app_id="", target="nope", timeout=seconds(60)),  # type: ignore[arg-type]
            {"provider.kind", "provider.app_id", "provider.target", "provider.timeout"},
        ),
    ],
)
async def test_invalid_registrations_name_every_bad_field(
    start_registry: StartRegistry, site: str, provider: provider_pb2.Provider, fields: set[str]
) -> None:
    registry = await start_registry()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.stub().RegisterProvider(
            pb.RegisterProviderRequest(provider=provider), metadata=registry.admin(site)
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert status_details(refused.value)[1] == fields


async def test_settings_over_64_kib_are_refused_and_30_s_is_accepted(
    start_registry: StartRegistry, site: str
) -> None:
    registry = await start_registry()
    stub, md = registry.stub(), registry.admin(site)
    big = struct_pb2.Struct()
    big.update({"blob": "x" * (64 * 1024)})
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("a", settings=big)), metadata=md
        )
    assert status_details(refused.value)[1] == {"provider.settings"}
    accepted = await stub.RegisterProvider(
        pb.RegisterProviderRequest(provider=shipping("a", timeout=seconds(30))), metadata=md
    )
    assert accepted.provider.timeout.seconds == 30


async def test_update_rejects_bad_masks_and_bad_values(
    start_registry: StartRegistry, site: str
) -> None:
    registry = await start_registry()
    stub, md = registry.stub(), registry.admin(site)
    created = (
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("acme")), metadata=md
        )
    ).provider
    cases = [
        ([], provider_pb2.Provider(id=created.id), {"update_mask"}),
        (["app_id"], provider_pb2.Provider(id=created.id, app_id="b"), {"update_mask"}),
        (
            ["target"],
            provider_pb2.Provider(id=created.id, target="bad target"),
            {"provider.target"},
        ),
        (["target"], provider_pb2.Provider(id="not-a-uuid", target="h:1"), {"provider.id"}),
    ]
    for paths, provider, fields in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.UpdateProvider(
                pb.UpdateProviderRequest(
                    provider=provider, update_mask=field_mask_pb2.FieldMask(paths=paths)
                ),
                metadata=md,
            )
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT, paths
        assert status_details(refused.value)[1] == fields, paths
    unchanged = await stub.GetProvider(pb.GetProviderRequest(id=created.id), metadata=md)
    assert unchanged.provider.revision == 1


async def test_config_file_providers_are_listed_and_read_only(
    start_registry: StartRegistry, site: str
) -> None:
    document = {
        "providers": [
            {"sites": ["*"], "kind": "catalog", "app_id": "demo-catalog", "target": "@providers"},
            {
                "site": site,
                "kind": "PROVIDER_KIND_SHIPPING_RATES",
                "app_id": "house-rates",
                "target": "rates.internal:7000",
                "timeout_ms": 750,
                "settings": {"flat": "4.90"},
            },
        ]
    }
    registry = await start_registry(document)
    stub, md = registry.stub(), registry.admin(site)

    listed = (await stub.ListProviders(pb.ListProvidersRequest(), metadata=md)).providers
    assert [(p.kind, p.app_id) for p in listed] == [
        (CATALOG_KIND, "demo-catalog"),
        (SHIPPING_KIND, "house-rates"),
    ]
    catalog, rates = listed
    assert all(p.source == provider_pb2.PROVIDER_SOURCE_CONFIG_FILE for p in listed)
    assert catalog.target == registry.running.address  # "@providers": this process
    assert rates.timeout.ToMilliseconds() == 750
    assert dict(rates.settings) == {"flat": "4.90"}
    assert rates.id == str(uuid.uuid5(ID_NAMESPACE, f"{site}/shipping_rates/house-rates"))
    assert (
        await stub.GetProvider(pb.GetProviderRequest(id=rates.id), metadata=md)
    ).provider == rates

    # Another site gets only the "*" entry, under its own id.
    other = (
        await stub.ListProviders(pb.ListProvidersRequest(), metadata=registry.admin("other-site"))
    ).providers
    assert [p.app_id for p in other] == ["demo-catalog"]
    assert other[0].id != catalog.id

    mask = field_mask_pb2.FieldMask(paths=["enabled"])
    for call in (
        stub.UpdateProvider(
            pb.UpdateProviderRequest(provider=provider_pb2.Provider(id=rates.id), update_mask=mask),
            metadata=md,
        ),
        stub.DeleteProvider(pb.DeleteProviderRequest(id=catalog.id), metadata=md),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert status_details(refused.value)[0]["reason"] == "PROVIDER_READ_ONLY"

    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("house-rates")), metadata=md
        )
    assert taken.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert status_details(taken.value)[0]["provider_id"] == rates.id

    # The ids survive a restart.
    again = await start_registry(document)
    relisted = (
        await again.stub().ListProviders(pb.ListProvidersRequest(), metadata=again.admin(site))
    ).providers
    assert [p.id for p in relisted] == [catalog.id, rates.id]


async def test_a_bad_providers_file_stops_start_up(start_registry: StartRegistry) -> None:
    with pytest.raises(ConfigError, match=r"providers\[0\].*app_id"):
        await start_registry({"providers": [{"site": "*", "kind": "catalog", "target": "h:1"}]})


async def test_list_filters_sorts_and_pages(start_registry: StartRegistry, site: str) -> None:
    registry = await start_registry(
        {
            "providers": [
                {"site": "*", "kind": "shipping_rates", "app_id": "m-config", "target": "h:1"}
            ]
        }
    )
    stub, md = registry.stub(), registry.admin(site)
    for app_id in ("e-rates", "a-rates", "c-rates", "b-rates"):
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping(app_id)), metadata=md
        )
    await stub.RegisterProvider(
        pb.RegisterProviderRequest(provider=shipping("d-off", enabled=False)), metadata=md
    )
    await stub.RegisterProvider(
        pb.RegisterProviderRequest(
            provider=provider_pb2.Provider(kind=CATALOG_KIND, app_id="z-catalog", target="h:2")
        ),
        metadata=md,
    )

    async def pages(request: pb.ListProvidersRequest) -> list[list[str]]:
        result = []
        while True:
            page = await stub.ListProviders(request, metadata=md)
            result.append([p.app_id for p in page.providers])
            if not page.next_page_token:
                return result
            request.page_token = page.next_page_token

    everything = await pages(pb.ListProvidersRequest(page_size=3))
    assert everything == [
        ["z-catalog", "a-rates", "b-rates"],
        ["c-rates", "d-off", "e-rates"],
        ["m-config"],
    ]
    enabled_shipping = pb.ListProvidersRequest(
        filter=pb.ProviderFilter(kinds=[SHIPPING_KIND], enabled=True),
        sort=[
            pb.ProviderSort(field=pb.PROVIDER_SORT_FIELD_APP_ID, order=query_pb2.SORT_ORDER_DESC)
        ],
        page_size=2,
    )
    assert await pages(enabled_shipping) == [
        ["m-config", "e-rates"],
        ["c-rates", "b-rates"],
        ["a-rates"],
    ]
    only_config = pb.ListProvidersRequest(
        filter=pb.ProviderFilter(sources=[provider_pb2.PROVIDER_SOURCE_CONFIG_FILE])
    )
    assert await pages(only_config) == [["m-config"]]
    by_app_id = pb.ListProvidersRequest(filter=pb.ProviderFilter(app_ids=["c-rates", "z-catalog"]))
    assert await pages(by_app_id) == [["z-catalog", "c-rates"]]

    first = await stub.ListProviders(pb.ListProvidersRequest(page_size=1), metadata=md)
    for bad in (
        pb.ListProvidersRequest(
            page_token=first.next_page_token, filter=pb.ProviderFilter(enabled=True)
        ),
        pb.ListProvidersRequest(page_token="garbage"),
        pb.ListProvidersRequest(page_size=-1),
        pb.ListProvidersRequest(sort=[pb.ProviderSort()]),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListProviders(bad, metadata=md)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_sites_never_see_each_others_providers(
    start_registry: StartRegistry, site: str
) -> None:
    registry = await start_registry()
    stub = registry.stub()
    mine = (
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("acme")), metadata=registry.admin(site)
        )
    ).provider
    theirs = registry.admin(f"{site}-other")
    assert not (await stub.ListProviders(pb.ListProvidersRequest(), metadata=theirs)).providers
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await stub.GetProvider(pb.GetProviderRequest(id=mine.id), metadata=theirs)
    assert hidden.value.code() is grpc.StatusCode.NOT_FOUND
    # The same app id is free on another site.
    await stub.RegisterProvider(
        pb.RegisterProviderRequest(provider=shipping("acme")), metadata=theirs
    )


async def test_only_admins_manage_providers(start_registry: StartRegistry, site: str) -> None:
    registry = await start_registry()
    token = registry.runtime.tokens.mint(role=Role.MEMBER, site=site, subject="m-1")
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await registry.stub().RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("acme")),
            metadata=(("authorization", f"Bearer {token}"),),
        )
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_check_provider_reports_health_latency_and_circuit(
    start_registry: StartRegistry, site: str, provider_servers: ProviderServers
) -> None:
    registry = await start_registry()
    stub, md = registry.stub(), registry.admin(site)
    with_health = await provider_servers.start()
    without_health = await provider_servers.start(with_health=False)
    sick = await provider_servers.start()
    assert sick.health is not None
    await sick.health.set(SHIPPING.service_name, health_pb2.HealthCheckResponse.NOT_SERVING)
    dead = closed_port_target()

    ids = {}
    for name, target in (
        ("healthy", with_health.target),
        ("bare", without_health.target),
        ("sick", sick.target),
        ("dead", dead),
    ):
        response = await stub.RegisterProvider(
            pb.RegisterProviderRequest(
                provider=shipping(name, target=target, timeout=seconds(0.5))
            ),
            metadata=md,
        )
        ids[name] = response.provider.id

    async def check(name: str, **flags: bool) -> pb.CheckProviderResponse:
        response: pb.CheckProviderResponse = await stub.CheckProvider(
            pb.CheckProviderRequest(id=ids[name], **flags), metadata=md
        )
        return response

    healthy = await check("healthy")
    assert healthy.health == provider_pb2.PROVIDER_HEALTH_SERVING
    assert healthy.probe == "grpc.health.v1.Health/Check"
    assert healthy.latency.ToNanoseconds() > 0 and not healthy.error_message
    assert healthy.circuit_state == provider_pb2.CIRCUIT_STATE_CLOSED
    assert with_health.servicer.calls == 0  # the health service answered; no SPI call

    bare = await check("bare")
    assert bare.health == provider_pb2.PROVIDER_HEALTH_SERVING
    assert bare.probe == "/ecom.spi.shipping_rates.v1.ShippingRatesProviderService/GetShippingRates"
    probe_metadata = without_health.servicer.metadata[0]
    assert probe_metadata["x-ecom-caller"] == "service/ecom-suite"
    assert probe_metadata["x-ecom-site"] == site

    sick_answer = await check("sick")
    assert sick_answer.health == provider_pb2.PROVIDER_HEALTH_NOT_SERVING
    assert "NOT_SERVING" in sick_answer.error_message

    unreachable = await check("dead")
    assert unreachable.health == provider_pb2.PROVIDER_HEALTH_UNREACHABLE
    assert unreachable.error_message.startswith("UNAVAILABLE")

    # Trip the breaker the process's callers use; CheckProvider then reports it and does not call.
    client = registry.runtime.providers
    listed = await stub.GetProvider(pb.GetProviderRequest(id=ids["dead"]), metadata=md)
    ref = client.ref_from_proto(site, listed.provider)
    for _ in range(client.breakers.policy.failure_threshold):
        outcome = await client.call(ref, GET_RATES, rates_request(), Rates)
        assert outcome.code == PROVIDER_UNAVAILABLE
    skipped = await check("dead")
    assert skipped.health == provider_pb2.PROVIDER_HEALTH_CIRCUIT_OPEN
    assert skipped.circuit_state == provider_pb2.CIRCUIT_STATE_OPEN
    assert not skipped.probe and not skipped.HasField("latency")
    forced = await check("dead", ignore_circuit=True)
    assert forced.health == provider_pb2.PROVIDER_HEALTH_UNREACHABLE
    assert forced.circuit_state == provider_pb2.CIRCUIT_STATE_OPEN

    with pytest.raises(grpc.aio.AioRpcError) as bad_id:
        await stub.CheckProvider(pb.CheckProviderRequest(id="nope"), metadata=md)
    assert bad_id.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_provider_client_finds_enabled_providers_through_the_registry(
    start_registry: StartRegistry, site: str
) -> None:
    registry = await start_registry(
        {
            "providers": [
                {"site": "*", "kind": "shipping_rates", "app_id": "b-config", "target": "h:1"}
            ]
        }
    )
    stub, md = registry.stub(), registry.admin(site)
    await stub.RegisterProvider(
        pb.RegisterProviderRequest(provider=shipping("a-rates", timeout=seconds(0.75))), metadata=md
    )
    await stub.RegisterProvider(
        pb.RegisterProviderRequest(provider=shipping("c-off", enabled=False)), metadata=md
    )
    await stub.RegisterProvider(
        pb.RegisterProviderRequest(
            provider=provider_pb2.Provider(kind=CATALOG_KIND, app_id="cat", target="h:2")
        ),
        metadata=md,
    )
    client = ProviderClient(registry.runtime)  # its own cache, not invalidated by the registry
    try:
        refs = await client.providers(site, Kind.SHIPPING_RATES)
        assert [(r.app_id, r.timeout_s, r.site) for r in refs] == [
            ("a-rates", 0.75, site),
            ("b-config", 2.0, site),
        ]
        # Within the TTL the list comes from the cache: a new registration is not seen yet...
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("d-new")), metadata=md
        )
        assert [r.app_id for r in await client.providers(site, Kind.SHIPPING_RATES)] == [
            "a-rates",
            "b-config",
        ]
        # ...until the cache is dropped; the process's shared client is told by the registry.
        client.invalidate(site)
        assert [r.app_id for r in await client.providers(site, Kind.SHIPPING_RATES)] == [
            "a-rates",
            "b-config",
            "d-new",
        ]
        shared = await registry.runtime.providers.providers(site, Kind.SHIPPING_RATES)
        assert [r.app_id for r in shared] == ["a-rates", "b-config", "d-new"]
    finally:
        await client.close()


async def test_provider_client_without_a_registry_is_unavailable(
    make_config: Callable[..., Config], site: str
) -> None:
    runtime = Runtime(make_config(ECOM_PROVIDERS_ADDR=closed_port_target()))
    client = ProviderClient(runtime)
    try:
        with pytest.raises(Unavailable) as down:
            await client.providers(site, Kind.CATALOG)
    finally:
        await client.close()
        await runtime.close()
    assert down.value.reason == "PROVIDER_REGISTRY_UNAVAILABLE"


async def test_provider_client_serves_the_last_list_while_the_registry_is_down(
    start_registry: StartRegistry, make_config: Callable[..., Config], site: str, clock: FakeClock
) -> None:
    registry = await start_registry()
    await registry.stub().RegisterProvider(
        pb.RegisterProviderRequest(provider=shipping("acme")), metadata=registry.admin(site)
    )
    runtime = Runtime(make_config(ECOM_PROVIDERS_ADDR=registry.running.address))
    client = ProviderClient(runtime, clock=clock)
    try:
        assert [r.app_id for r in await client.providers(site, Kind.SHIPPING_RATES)] == ["acme"]
        await registry.running.server.stop(0)
        clock.advance(60)  # past the TTL: the registry is asked, fails, the last list is served
        assert [r.app_id for r in await client.providers(site, Kind.SHIPPING_RATES)] == ["acme"]
        clock.advance(600)  # too old to trust any more
        with pytest.raises(Unavailable):
            await client.providers(site, Kind.SHIPPING_RATES)
    finally:
        await client.close()
        await runtime.close()


async def test_a_site_has_at_most_20_providers_of_a_kind(
    start_registry: StartRegistry, site: str
) -> None:
    registry = await start_registry(
        {
            "providers": [
                {"site": "*", "kind": "shipping_rates", "app_id": "from-file", "target": "h:1"}
            ]
        }
    )
    stub, md = registry.stub(), registry.admin(site)
    for index in range(19):  # plus the file's one: 20
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping(f"rates-{index}")), metadata=md
        )
    with pytest.raises(grpc.aio.AioRpcError) as full:
        await stub.RegisterProvider(
            pb.RegisterProviderRequest(provider=shipping("one-more")), metadata=md
        )
    assert full.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status_details(full.value)[0]["reason"] == "PROVIDER_LIMIT_REACHED"
    # Other kinds are counted on their own.
    await stub.RegisterProvider(
        pb.RegisterProviderRequest(
            provider=provider_pb2.Provider(kind=CATALOG_KIND, app_id="one-more", target="h:2")
        ),
        metadata=md,
    )

"""The pure parts of the provider runtime: breaker, TTL cache, target rules, the providers file,
and ListProviders' paging. No servers needed."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import descriptor_pool

from ecom.providers.v1 import provider_pb2
from services.platform.config import ConfigError
from services.platform.errors import InvalidArgument
from services.platform.providers.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from services.platform.providers.cache import TTLCache
from services.platform.providers.config_file import parse_providers, resolve_target
from services.platform.providers.kinds import Kind
from services.platform.providers.rules import target_problem
from services.registry.domain import ProviderRecord, Source
from services.registry.listing import ListQuery, ProviderFilter, SortKey, paginate
from services.registry.probe import Health
from tests.integration.providers.provider_kit import FakeClock


def test_breaker_opens_after_consecutive_failures_only(clock: FakeClock) -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=3, cool_down_s=10), clock)
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()  # the streak is broken
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    # mypy keeps `state` narrowed to CLOSED across the call that changes it.
    assert breaker.state is BreakerState.OPEN and not breaker.allow()  # type: ignore[comparison-overlap]
    assert breaker.retry_after_s() == 10


def test_half_open_lets_one_trial_through_at_a_time(clock: FakeClock) -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=1, cool_down_s=5), clock)
    breaker.record_failure()
    clock.advance(5)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # the trial is still out
    breaker.record_neutral()  # it ended without a verdict (our own deadline)
    assert breaker.allow()
    breaker.record_failure()
    # A failed trial starts a new cool-down (mypy keeps `state` narrowed to HALF_OPEN).
    assert breaker.state is BreakerState.OPEN  # type: ignore[comparison-overlap]
    clock.advance(5)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_ttl_cache_expires_and_evicts_the_oldest(clock: FakeClock) -> None:
    cache: TTLCache[str, int] = TTLCache(ttl_s=2, max_entries=2, clock=clock)
    cache.put("a", 1)
    clock.advance(1)
    cache.put("b", 2)
    cache.put("c", 3)  # over the bound: "a" goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, 3)
    clock.advance(1.5)
    assert cache.get("b") == 2  # 1.5 s old, TTL 2 s
    assert cache.get_stale("b") == 2
    clock.advance(0.5)
    assert cache.get("b") is None
    assert cache.get_stale("b") == 2  # expired, but kept for use during an outage
    cache.invalidate(lambda key: key == "c")
    assert cache.get_stale("c") is None and len(cache) == 1
    cache.invalidate()
    assert len(cache) == 0


@pytest.mark.parametrize(
    "target",
    [
        "rates.internal:7000",
        "127.0.0.1:50051",
        "[::1]:50051",
        "localhost:1",
        "dns:///rates.internal:7000",
        "dns://8.8.8.8/rates.internal:7000",
        "ipv4:10.0.0.5:50061",
        "unix:/run/provider.sock",
    ],
)
def test_good_targets(target: str) -> None:
    assert target_problem(target) is None


@pytest.mark.parametrize(
    "target",
    [
        "",
        "rates",
        "rates:",
        ":80",
        "rates:0",
        "rates:65536",
        "a b:1",
        "http://x:1",
        "::1:80",
        "[nope]:1",
        "bad_host!:1",
        "dns:///",
    ],
)
def test_bad_targets(target: str) -> None:
    assert target_problem(target) is not None


def test_providers_file_per_site_entries_override_star_entries() -> None:
    configured = parse_providers(
        {
            "providers": [
                {"sites": ["*"], "kind": "catalog", "app_id": "cat", "target": "@catalog"},
                {
                    "site": "shop-1",
                    "kind": "catalog",
                    "app_id": "cat",
                    "target": "cat.shop1:7000",
                    "settings": {"k": 1},
                },
                {
                    "sites": ["shop-1", "shop-2"],
                    "kind": "validations",
                    "app_id": "v",
                    "target": "v:1",
                    "validate_in_cart": True,
                    "enabled": False,
                },
            ]
        }
    )
    shop1 = {(p.kind, p.app_id): p for p in configured.for_site("shop-1")}
    assert shop1[(Kind.CATALOG, "cat")].target == "cat.shop1:7000"
    assert shop1[(Kind.VALIDATIONS, "v")].enabled is False
    assert [p.target for p in configured.for_site("shop-3")] == ["@catalog"]
    assert configured.find("shop-9", Kind.CATALOG, "cat") is not None
    assert resolve_target("@catalog", lambda name: f"{name}.svc:1") == "catalog.svc:1"
    assert resolve_target("h:1", lambda name: "unused") == "h:1"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "JSON object"),
        ({"providers": {}}, "must be a list"),
        ({"providers": [{"site": "*", "kind": "catalog", "app_id": "a"}]}, "target: required"),
        ({"providers": [{"kind": "catalog", "app_id": "a", "target": "h:1"}]}, "exactly one of"),
        (
            {"providers": [{"site": "*", "kind": "taxes", "app_id": "a", "target": "h:1"}]},
            "unknown provider kind",
        ),
        (
            {
                "providers": [
                    {
                        "site": "*",
                        "kind": "catalog",
                        "app_id": "a",
                        "target": "h:1",
                        "timeout_ms": 30001,
                    }
                ]
            },
            "at most 30 s",
        ),
        (
            {
                "providers": [
                    {
                        "site": "*",
                        "kind": "catalog",
                        "app_id": "a",
                        "target": "h:1",
                        "timeout_ms": True,
                    }
                ]
            },
            "JSON integer",
        ),
        (
            {"providers": [{"site": "*", "kind": "catalog", "app_id": "a", "target": "@nope"}]},
            "@service",
        ),
        (
            {
                "providers": [
                    {
                        "site": "*",
                        "kind": "catalog",
                        "app_id": "a",
                        "target": "h:1",
                        "colour": "red",
                    }
                ]
            },
            "unknown keys",
        ),
        (
            {"providers": [{"site": "*", "kind": "catalog", "app_id": "a", "target": "h:1"}] * 2},
            "declared twice",
        ),
        (
            {
                "providers": [
                    {"site": "*", "kind": "catalog", "app_id": f"a{i}", "target": "h:1"}
                    for i in range(21)
                ]
            },
            "at most 20",
        ),
    ],
)
def test_bad_providers_files_are_refused_with_the_reason(document: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_providers(document)


def _record(app_id: str, kind: Kind, created_minutes: int, provider_id: str) -> ProviderRecord:
    created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=created_minutes)
    return ProviderRecord(
        id=provider_id,
        site="s",
        kind=kind,
        app_id=app_id,
        target="h:1",
        tls=False,
        timeout_ms=0,
        settings={},
        validate_in_cart=False,
        enabled=True,
        source=Source.REGISTRY,
        revision=1,
        created=created,
        updated=created,
    )


def test_paging_is_keyset_and_survives_inserts_between_pages() -> None:
    records = [
        _record("a", Kind.SHIPPING_RATES, 3, "00000000-0000-0000-0000-000000000003"),
        _record("b", Kind.CATALOG, 1, "00000000-0000-0000-0000-000000000001"),
        _record("c", Kind.SHIPPING_RATES, 1, "00000000-0000-0000-0000-000000000002"),
    ]
    query = ListQuery(sort=(SortKey("created", descending=True),), page_size=1)
    first = paginate(records, query)
    assert [r.app_id for r in first.records] == ["a"]
    # Created at the same minute as "b" and "c": the id breaks the tie, so nothing repeats.
    records.append(_record("d", Kind.CATALOG, 1, "00000000-0000-0000-0000-000000000000"))
    seen = [r.app_id for r in first.records]
    token = first.next_page_token
    while token:
        page = paginate(records, ListQuery(sort=query.sort, page_size=1, page_token=token))
        seen += [r.app_id for r in page.records]
        token = page.next_page_token
    assert seen == ["a", "d", "b", "c"]

    with pytest.raises(InvalidArgument):
        paginate(
            records,
            ListQuery(
                filter=ProviderFilter(kinds=frozenset({Kind.CATALOG})),
                sort=query.sort,
                page_token=first.next_page_token,
            ),
        )


def test_python_enums_mirror_the_proto_enums() -> None:
    # The domain uses plain Python enums; their numbers must be the protos' for int() to convert.

    from services.platform.providers.breaker import BreakerState

    for kind in Kind:
        assert (
            provider_pb2.ProviderKind.Name(provider_pb2.ProviderKind.ValueType(kind))
            == f"PROVIDER_KIND_{kind.name}"
        )
        module = importlib.import_module(
            f"ecom.spi.{kind.slug}.v1.{kind.slug}_provider_service_pb2"
        )
        assert module.DESCRIPTOR.services_by_name  # the SPI's module is generated
        descriptor_pool.Default().FindServiceByName(kind.service_name)
    for state in BreakerState:
        assert (
            provider_pb2.CircuitState.Name(provider_pb2.CircuitState.ValueType(state))
            == f"CIRCUIT_STATE_{state.name}"
        )
    for health in Health:
        assert (
            provider_pb2.ProviderHealth.Name(provider_pb2.ProviderHealth.ValueType(health))
            == f"PROVIDER_HEALTH_{health.name}"
        )
    for source in Source:
        assert (
            provider_pb2.ProviderSource.Name(provider_pb2.ProviderSource.ValueType(source))
            == f"PROVIDER_SOURCE_{source.name}"
        )


def test_with_settings_puts_the_registration_settings_on_a_copy() -> None:
    from google.protobuf import struct_pb2

    from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping
    from services.platform.providers.client import with_settings
    from services.platform.providers.ref import ProviderRef

    settings = struct_pb2.Struct()
    settings.update({"regions": []})
    ref = ProviderRef(
        id="p1",
        site="s",
        kind=Kind.SHIPPING_RATES,
        app_id="a",
        target="127.0.0.1:1",
        timeout_s=2.0,
        settings=settings,
    )
    shared = shipping.GetShippingRatesRequest(currency="USD")
    personal = with_settings(shared, ref)
    assert dict(personal.settings) == {"regions": []}
    assert not shared.HasField("settings")
    assert personal.currency == "USD"

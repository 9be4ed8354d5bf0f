"""The shared runtime a service is bound with: configuration, identity, storage, Redis, the
event bus, peer channels and health checks. One per process; nothing in it is request state."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import grpc
import redis.asyncio as aioredis

from services.platform.config import Config
from services.platform.db import Database
from services.platform.events.bus import EventBus, InProcessBus, RedisStreamBus
from services.platform.identity import Role, TokenService, current_request_id
from services.platform.interceptors import REQUEST_ID_KEY

if TYPE_CHECKING:
    from services.platform.providers.client import ProviderClient

log = logging.getLogger("ecom.runtime")

HealthCheck = Callable[[], Awaitable[bool]]

#: Service tokens are minted for an hour and renewed ten minutes before they expire.
_SERVICE_TOKEN_TTL_S = 3600
_SERVICE_TOKEN_RENEW_S = 600


def channel_options(config: Config) -> list[tuple[str, int]]:
    """Options shared by every server and client channel of the suite."""
    max_bytes = int(config["MAX_MESSAGE_BYTES"])
    return [
        ("grpc.max_send_message_length", max_bytes),
        ("grpc.max_receive_message_length", max_bytes),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


class Runtime:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.tokens = TokenService(config.auth_secret)
        self.key_prefix = str(config["KEY_PREFIX"])
        self.redis: aioredis.Redis | None = (
            aioredis.from_url(config.redis_url) if config.redis_url else None
        )
        self.bus: EventBus = (
            RedisStreamBus(self.redis, self.key_prefix) if self.redis else InProcessBus()
        )
        #: Address of this process's own server, set once it listens; peers that are not
        #: configured with ECOM_<NAME>_ADDR are served by this process.
        self.self_address: str | None = None
        #: Names of the service targets this process serves (set by the server before binding).
        self.local_targets: frozenset[str] = frozenset()
        self._databases: dict[str, Database] = {}
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._service_tokens: dict[str, tuple[str, float]] = {}
        self.health_checks: dict[str, HealthCheck] = {}
        self._providers: ProviderClient | None = None
        if self.redis is not None:
            redis_client = self.redis

            async def redis_ok() -> bool:
                return bool(await redis_client.ping())

            self.add_health_check("redis", redis_ok)

    def database(self, service: str) -> Database:
        if service not in self._databases:
            database = Database.for_service(self.config, service)
            self._databases[service] = database
            self.add_health_check(f"database:{service}", database.ping)
        return self._databases[service]

    def peer_address(self, service: str) -> str:
        address = self.config.peer_address(service) or self.self_address
        if address is None:
            raise RuntimeError(f"no address for peer {service!r}: set ECOM_{service.upper()}_ADDR")
        return address

    def peer_channel(self, service: str) -> grpc.aio.Channel:
        address = self.peer_address(service)
        if address not in self._channels:
            # Round robin over every address the name resolves to, so replicas behind a
            # headless service share the load instead of one of them taking it all.
            # A peer that restarts is retried within seconds, not gRPC's default two minutes.
            options = [
                *channel_options(self.config),
                ("grpc.lb_policy_name", "round_robin"),
                ("grpc.max_reconnect_backoff_ms", 5000),
            ]
            self._channels[address] = grpc.aio.insecure_channel(address, options=options)
        return self._channels[address]

    def service_token(self, site: str) -> str:
        token, expires_at = self._service_tokens.get(site, ("", 0.0))
        if time.time() > expires_at - _SERVICE_TOKEN_RENEW_S:
            token = self.tokens.mint(
                role=Role.SERVICE, site=site, subject="ecom-suite", ttl_s=_SERVICE_TOKEN_TTL_S
            )
            self._service_tokens[site] = (token, time.time() + _SERVICE_TOKEN_TTL_S)
        return token

    def service_metadata(self, site: str) -> tuple[tuple[str, str], ...]:
        """Metadata for a call to a peer on behalf of `site`, carrying the request id on."""
        metadata: tuple[tuple[str, str], ...] = (
            ("authorization", f"Bearer {self.service_token(site)}"),
        )
        request_id = current_request_id()
        if request_id:
            metadata += ((REQUEST_ID_KEY, request_id),)
        return metadata

    @property
    def providers(self) -> ProviderClient:
        """The process's one provider client: its channels, breakers and caches are shared by
        every service of the process (and CheckProvider reports the breakers callers use)."""
        if self._providers is None:
            from services.platform.providers.client import ProviderClient

            self._providers = ProviderClient(self)
        return self._providers

    def add_health_check(self, name: str, check: HealthCheck) -> None:
        self.health_checks[name] = check

    async def close(self) -> None:
        if self._providers is not None:
            await self._providers.close()
        for channel in self._channels.values():
            await channel.close(grace=None)
        for database in self._databases.values():
            await database.dispose()
        if self.redis is not None:
            await self.redis.aclose()

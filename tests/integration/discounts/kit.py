"""Helpers of the discounts tests: the service on a real server (with the provider registry it
asks), a scriptable discount-triggers provider on its own real server, proto builders, and
rich-status decoding."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ecom.discounts.v1 import (
    coupon_pb2,
    coupons_service_pb2,
    coupons_service_pb2_grpc,
    discount_rule_pb2,
    discount_rules_service_pb2,
    discount_rules_service_pb2_grpc,
    discount_settings_pb2,
    events_pb2,
)
from ecom.events.v1 import event_pb2
from ecom.spi.discount_triggers.v1 import discount_triggers_provider_service_pb2 as spi
from ecom.spi.discount_triggers.v1 import discount_triggers_provider_service_pb2_grpc as spi_grpc
from services.discounts import MODULE as DISCOUNTS
from services.platform.config import load_config
from services.platform.db import utcnow
from services.platform.identity import Role
from services.platform.runtime import Runtime
from services.platform.server import RunningServer, start_server
from services.registry import MODULE as REGISTRY
from tests.helpers import eventually

Metadata = tuple[tuple[str, str], ...]
pb = discount_rules_service_pb2
cpb = coupons_service_pb2

CATALOG = "ecom.catalog"
OTHER_CATALOG = "other.catalog"
TRIGGERS = "test.triggers"
DOWN_TRIGGERS = "down.triggers"
#: Nobody listens here (port 9, discard): calls fail fast with UNAVAILABLE.
NOWHERE = "127.0.0.1:9"

_PAYLOADS: dict[str, type[Message]] = {
    "ecom.discounts.v1.discount_rule_created": events_pb2.DiscountRuleCreated,
    "ecom.discounts.v1.discount_rule_updated": events_pb2.DiscountRuleUpdated,
    "ecom.discounts.v1.discount_rule_deleted": events_pb2.DiscountRuleDeleted,
    "ecom.discounts.v1.discount_rule_usage_limit_reached": (
        events_pb2.DiscountRuleUsageLimitReached
    ),
}


class TriggersProvider(spi_grpc.DiscountTriggersProviderServiceServicer):
    """A discount-triggers provider whose answers are scripted per site."""

    def __init__(self) -> None:
        self.eligible: dict[str, set[str]] = {}
        self.failing: set[str] = set()
        self.calls: dict[str, list[spi.GetEligibleTriggersRequest]] = {}

    async def ListTriggers(
        self, request: spi.ListTriggersRequest, context: grpc.aio.ServicerContext
    ) -> spi.ListTriggersResponse:
        return spi.ListTriggersResponse(
            custom_triggers=[spi.CustomTrigger(id="vip", name="Buyer is a VIP")]
        )

    async def GetEligibleTriggers(
        self, request: spi.GetEligibleTriggersRequest, context: grpc.aio.ServicerContext
    ) -> spi.GetEligibleTriggersResponse:
        site = dict(context.invocation_metadata() or ()).get("x-ecom-site", "")
        self.calls.setdefault(str(site), []).append(request)
        if site in self.failing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "scripted outage")
        held = self.eligible.get(str(site), set())
        return spi.GetEligibleTriggersResponse(
            eligible_triggers=[
                spi.EligibleTrigger(custom_trigger_id=t.custom_trigger_id, identifier=t.identifier)
                for t in request.triggers
                if t.custom_trigger_id in held
            ]
        )


@dataclass
class Served:
    """The discounts service (and the registry it asks) on a real server, stubs on one channel,
    and the triggers provider it is configured with."""

    running: RunningServer
    channel: grpc.aio.Channel
    triggers: TriggersProvider
    triggers_server: grpc.aio.Server
    extra_channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        return self.running.runtime

    @property
    def rules(self) -> discount_rules_service_pb2_grpc.DiscountRulesServiceStub:
        return discount_rules_service_pb2_grpc.DiscountRulesServiceStub(self.channel)

    @property
    def coupons(self) -> coupons_service_pb2_grpc.CouponsServiceStub:
        return coupons_service_pb2_grpc.CouponsServiceStub(self.channel)

    def new_channel(self) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(self.running.address)
        self.extra_channels.append(channel)
        return channel

    def token(self, site: str, role: Role = Role.ADMIN, subject: str = "admin-1") -> Metadata:
        minted = self.runtime.tokens.mint(role=role, site=site, subject=subject)
        return (("authorization", f"Bearer {minted}"),)

    def admin(self, site: str) -> Metadata:
        return self.token(site, Role.ADMIN)

    def service(self, site: str) -> Metadata:
        return self.token(site, Role.SERVICE, "checkout")

    async def events(self, site: str, entity_id: str, count: int) -> list[event_pb2.Event]:
        """The entity's discount events once `count` are published (bounded wait)."""
        found: list[event_pb2.Event] = []

        async def published() -> bool:
            nonlocal found
            events = await self.runtime.bus.read(site, types=["ecom.discounts.v1."], limit=1000)
            found = [e for e in events if e.entity_id == entity_id]
            return len(found) >= count

        await eventually(published)
        return found

    async def create_rule(self, site: str, rule: discount_rule_pb2.DiscountRule) -> Any:
        response = await self.rules.CreateDiscountRule(
            pb.CreateDiscountRuleRequest(discount_rule=rule), metadata=self.admin(site)
        )
        return response.discount_rule

    async def create_coupon(self, site: str, coupon: coupon_pb2.Coupon) -> Any:
        response = await self.coupons.CreateCoupon(
            cpb.CreateCouponRequest(coupon=coupon), metadata=self.admin(site)
        )
        return response.coupon

    async def set_stacking(self, site: str, policy: int) -> None:
        await self.rules.UpdateDiscountSettings(
            pb.UpdateDiscountSettingsRequest(
                discount_settings=discount_settings_pb2.DiscountSettings(
                    stacking_policy=policy  # type: ignore[arg-type]
                )
            ),
            metadata=self.admin(site),
        )


def providers_file(data_dir: Path, triggers_address: str) -> Path:
    """Two catalogs and two discount-triggers providers (one unreachable), for every site."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "providers.json"
    entries = [
        {"sites": ["*"], "kind": "catalog", "app_id": CATALOG, "target": NOWHERE},
        {"sites": ["*"], "kind": "catalog", "app_id": OTHER_CATALOG, "target": NOWHERE},
        {
            "sites": ["*"],
            "kind": "discount_triggers",
            "app_id": TRIGGERS,
            "target": triggers_address,
        },
        {
            "sites": ["*"],
            "kind": "discount_triggers",
            "app_id": DOWN_TRIGGERS,
            "target": NOWHERE,
            "timeout_ms": 500,
        },
    ]
    path.write_text(json.dumps({"providers": entries}))
    return path


async def serve(data_dir: Path, environ: Mapping[str, str]) -> Served:
    triggers = TriggersProvider()
    triggers_server = grpc.aio.server()
    spi_grpc.add_DiscountTriggersProviderServiceServicer_to_server(triggers, triggers_server)
    port = triggers_server.add_insecure_port("127.0.0.1:0")
    await triggers_server.start()
    file = await asyncio.to_thread(providers_file, data_dir, f"127.0.0.1:{port}")
    config = load_config(
        {"ECOM_DATA_DIR": str(data_dir), "ECOM_PROVIDERS_FILE": str(file), **environ}
    )
    running = await start_server(Runtime(config), [REGISTRY, DISCOUNTS])
    return Served(running, grpc.aio.insecure_channel(running.address), triggers, triggers_server)


async def stop(served: Served) -> None:
    for channel in [served.channel, *served.extra_channels]:
        await channel.close()
    await served.running.stop(0)
    await served.triggers_server.stop(0)


# -- builders ------------------------------------------------------------------------------------


def rule_from(spec: Mapping[str, Any]) -> discount_rule_pb2.DiscountRule:
    """A DiscountRule from its proto JSON form (the form `cases.py` keeps rules in)."""
    return json_format.ParseDict(dict(spec), discount_rule_pb2.DiscountRule())


def coupon_from(spec: Mapping[str, Any]) -> coupon_pb2.Coupon:
    return json_format.ParseDict(dict(spec), coupon_pb2.Coupon())


def line(
    line_id: str, item_id: str, price: str, quantity: int = 1, app_id: str = CATALOG
) -> pb.DiscountLineItem:
    item = pb.DiscountLineItem(id=line_id, quantity=quantity, price=price)
    item.catalog_reference.catalog_item_id = item_id
    item.catalog_reference.app_id = app_id
    return item


def applied_request(
    lines: Sequence[pb.DiscountLineItem], currency: str = "USD", **fields: Any
) -> pb.GetAppliedDiscountsRequest:
    return pb.GetAppliedDiscountsRequest(line_items=list(lines), currency=currency, **fields)


def details(exc: grpc.aio.AioRpcError) -> tuple[str, dict[str, str], dict[str, str]]:
    """(ErrorInfo reason, ErrorInfo metadata, BadRequest field -> description) of a failed call."""
    status = rpc_status.from_call(exc)
    reason, metadata, fields = "", {}, {}
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields = {v.field: v.description for v in bad.field_violations}
    return reason, metadata, fields


def payload(event: event_pb2.Event) -> Message:
    message = _PAYLOADS[event.type]()
    assert event.payload.Unpack(message)
    return message


async def gather_all(*calls: Any) -> list[Any]:
    """Run calls concurrently and return results or exceptions, in order."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


class Clock:
    """A settable clock for services that take one: `clock.now += timedelta(...)`."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

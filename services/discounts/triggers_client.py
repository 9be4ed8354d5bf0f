"""Asking discount-triggers providers which custom triggers hold (ecom.spi.discount_triggers.v1).

One `GetEligibleTriggers` call per provider app, all in parallel under the caller's deadline
(`ProviderClient.fan_out`). Each occurrence of a trigger gets an identifier `<rule id>/<path>`,
so a trigger used by several rules (or twice in one rule) is answered per occurrence. A provider
that fails, times out, is skipped by its breaker or is no longer registered makes its triggers
count as not met and is reported as a `discounts_calculation_error`; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf import struct_pb2

from ecom.common.v1 import calculation_pb2
from ecom.spi.discount_triggers.v1 import discount_triggers_provider_service_pb2 as spi
from services.discounts.domain.model import CustomTrigger
from services.platform.errors import Unavailable
from services.platform.providers.client import ProviderCall, ProviderClient
from services.platform.providers.kinds import Kind
from services.platform.providers.outcome import PROVIDER_UNAVAILABLE

METHOD = Kind.DISCOUNT_TRIGGERS.method("GetEligibleTriggers")


@dataclass(frozen=True)
class Ask:
    """One occurrence of a custom trigger: in rule `rule_id`, at `path` of its trigger tree."""

    rule_id: str
    path: str
    trigger: CustomTrigger

    @property
    def identifier(self) -> str:
        return f"{self.rule_id}/{self.path}"


@dataclass(frozen=True)
class Failure:
    app_id: str
    code: str
    message: str


@dataclass
class Answers:
    #: rule id -> trigger path -> held (False also for triggers of failed providers).
    by_rule: dict[str, dict[str, bool]] = field(default_factory=dict)
    #: Apps whose call failed, in the order they were asked.
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed_apps(self) -> set[str]:
        return {failure.app_id for failure in self.failures}

    def calculation_error(self) -> calculation_pb2.CalculationError | None:
        if not self.failures:
            return None
        first = self.failures[0]
        data = struct_pb2.Struct()
        data.update({"app_ids": [failure.app_id for failure in self.failures]})
        return calculation_pb2.CalculationError(
            code=first.code, description=first.message, app_id=first.app_id, data=data
        )


class TriggerProviders:
    def __init__(self, providers: ProviderClient) -> None:
        self._providers = providers

    async def ask(
        self,
        site: str,
        asks: Sequence[Ask],
        template: spi.GetEligibleTriggersRequest,
        remaining_s: float | None,
    ) -> Answers:
        """`template` carries the cart (lines, subtotal, buyer, currency); each provider gets a
        copy with its own triggers."""
        answers = Answers()
        for ask in asks:
            answers.by_rule.setdefault(ask.rule_id, {})[ask.path] = False
        apps = sorted({ask.trigger.app_id for ask in asks})
        if not apps:
            return answers
        try:
            refs = {
                ref.app_id: ref
                for ref in await self._providers.providers(site, Kind.DISCOUNT_TRIGGERS)
            }
        except Unavailable as exc:
            answers.failures = [Failure(app, PROVIDER_UNAVAILABLE, exc.message) for app in apps]
            return answers
        calls: list[ProviderCall[spi.GetEligibleTriggersResponse]] = []
        for app in apps:
            ref = refs.get(app)
            if ref is None:
                message = f"no discount-triggers provider is registered as {app!r}"
                answers.failures.append(Failure(app, PROVIDER_UNAVAILABLE, message))
                continue
            request = spi.GetEligibleTriggersRequest()
            request.CopyFrom(template)
            request.triggers.extend(
                spi.TriggerToEvaluate(custom_trigger_id=a.trigger.id, identifier=a.identifier)
                for a in asks
                if a.trigger.app_id == app
            )
            calls.append(ProviderCall(ref, METHOD, request, spi.GetEligibleTriggersResponse))
        outcomes = await self._providers.fan_out(calls, remaining_s=remaining_s)
        wanted = {(a.trigger.app_id, a.trigger.id, a.identifier): a for a in asks}
        for outcome in outcomes:
            app = outcome.ref.app_id
            if outcome.response is None:
                answers.failures.append(Failure(app, outcome.code, outcome.message))
                continue
            for eligible in outcome.response.eligible_triggers:
                asked = wanted.get((app, eligible.custom_trigger_id, eligible.identifier))
                if asked is not None:  # pairs that were not asked are ignored
                    answers.by_rule[asked.rule_id][asked.path] = True
        answers.failures.sort(key=lambda failure: apps.index(failure.app_id))
        return answers

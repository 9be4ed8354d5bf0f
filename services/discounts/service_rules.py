"""Discount rules' use cases: each a unit of work over the store, with its events in the outbox.

Checks that need the provider registry (are the apps a rule names registered?) run before the
write transaction, so no row lock is held across a network call; the write then re-checks the
revision, which pins the rule the checks saw.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from ecom.discounts.v1 import events_pb2
from services.discounts.apps import AppChecks
from services.discounts.domain.model import (
    MAX_RULES_PER_SITE,
    Rule,
    RuleDefinition,
    custom_triggers,
)
from services.discounts.domain.queries import (
    Query,
    encode_token,
    fingerprint,
)
from services.discounts.domain.status import limit_reached
from services.discounts.domain.updates import merge_rule
from services.discounts.domain.validation import rule_problems, rule_scopes
from services.discounts.proto_rules import rule_to_proto
from services.discounts.store_common import DefinitionCache
from services.discounts.store_rules import RESOURCE, RuleStore, sort_values
from services.discounts.store_settings import SettingsStore
from services.platform.db import Database, utcnow
from services.platform.errors import (
    FailedPrecondition,
    NotFound,
    Violations,
    check_revision,
)
from services.platform.idempotency import run_idempotent
from services.platform.outbox import record_event

CREATE_SCOPE = "ecom.discounts.v1.DiscountRulesService/CreateDiscountRule"
PACKAGE = "ecom.discounts.v1"
CREATED = f"{PACKAGE}.discount_rule_created"
UPDATED = f"{PACKAGE}.discount_rule_updated"
DELETED = f"{PACKAGE}.discount_rule_deleted"
LIMIT_REACHED = f"{PACKAGE}.discount_rule_usage_limit_reached"
PREFIX = "discount_rule."


def not_found(rule_id: str) -> NotFound:
    return NotFound(
        "DISCOUNT_RULE_NOT_FOUND",
        f"no discount rule {rule_id} on this site",
        metadata={"discount_rule_id": rule_id},
    )


async def emit_limit_reached(session: AsyncSession, site: str, rule: Rule, now: datetime) -> None:
    await record_event(
        session,
        site=site,
        type=LIMIT_REACHED,
        entity_id=rule.id,
        payload=events_pb2.DiscountRuleUsageLimitReached(discount_rule=rule_to_proto(rule, now)),
    )


class RuleService:
    def __init__(
        self,
        database: Database,
        apps: AppChecks,
        cache: DefinitionCache[RuleDefinition],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._apps = apps
        self._cache = cache
        self._clock = clock

    def store(self, session: AsyncSession) -> RuleStore:
        return RuleStore(session, self._cache)

    async def _check(self, site: str, definition: RuleDefinition, problems: Violations) -> None:
        """Every rule of CreateDiscountRule, then (when those hold) the registry's apps."""
        for violation in rule_problems(definition):
            problems.add(PREFIX + violation.field, violation.description)
        problems.raise_if_any()
        await self._apps.check_scopes(site, PREFIX, rule_scopes(definition))
        await self._apps.check_trigger_providers(
            site, (trigger for _, trigger in custom_triggers(definition.trigger))
        )

    async def create(
        self,
        site: str,
        definition: RuleDefinition,
        problems: Violations,
        *,
        request_id: str,
        request: Message,
    ) -> pb.CreateDiscountRuleResponse:
        await self._check(site, definition, problems)
        now = self._clock()
        rule = Rule(str(uuid.uuid4()), definition, 1, 0, now, now)

        async def insert(session: AsyncSession) -> pb.CreateDiscountRuleResponse:
            settings = SettingsStore(session)
            await settings.lock(site)  # one rule creation at a time per site
            store = self.store(session)
            if await store.count(site) >= MAX_RULES_PER_SITE:
                raise FailedPrecondition(
                    "DISCOUNT_RULE_LIMIT_REACHED",
                    f"the site already has {MAX_RULES_PER_SITE} discount rules",
                    metadata={"limit": str(MAX_RULES_PER_SITE)},
                )
            await store.add(site, rule)
            await settings.bump(site)
            message = rule_to_proto(rule, now)
            await record_event(
                session,
                site=site,
                type=CREATED,
                entity_id=rule.id,
                payload=events_pb2.DiscountRuleCreated(discount_rule=message),
            )
            return pb.CreateDiscountRuleResponse(discount_rule=message)

        async def unit(session: AsyncSession) -> pb.CreateDiscountRuleResponse:
            return await run_idempotent(
                session,
                site=site,
                scope=CREATE_SCOPE,
                request_id=request_id,
                request=request,
                response_type=pb.CreateDiscountRuleResponse,
                produce=lambda: insert(session),
            )

        return await self._database.run(unit)

    async def get(self, site: str, rule_id: str) -> Rule:
        async def read(session: AsyncSession) -> Rule | None:
            return await self.store(session).get(site, rule_id)

        rule = await self._database.run(read, readonly=True)
        if rule is None:
            raise not_found(rule_id)
        return rule

    async def update(
        self,
        site: str,
        rule_id: str,
        incoming: RuleDefinition,
        paths: frozenset[str],
        expected_revision: int,
        problems: Violations,
    ) -> Rule:
        seen = await self.get(site, rule_id)
        check_revision(RESOURCE, expected_revision, seen.revision)
        merged = merge_rule(seen.definition, incoming, paths)
        if paths & {"trigger", "discounts"}:
            await self._check(site, merged, problems)
        else:  # scopes unchanged: the registry was checked when they were set
            for violation in rule_problems(merged):
                problems.add(PREFIX + violation.field, violation.description)
            problems.raise_if_any()
        now = self._clock()

        async def write(session: AsyncSession) -> Rule:
            store = self.store(session)
            current = await store.get(site, rule_id, lock=True)
            if current is None:
                raise not_found(rule_id)
            check_revision(RESOURCE, expected_revision, current.revision)
            updated = replace(
                current,
                definition=merge_rule(current.definition, incoming, paths),
                revision=current.revision + 1,
                updated=now,
            )
            await store.replace(site, updated)
            await SettingsStore(session).bump(site)
            await record_event(
                session,
                site=site,
                type=UPDATED,
                entity_id=rule_id,
                payload=events_pb2.DiscountRuleUpdated(
                    discount_rule=rule_to_proto(updated, now), updated_fields=sorted(paths)
                ),
            )
            before = limit_reached(current.definition.usage_limit, current.usage_count)
            after = limit_reached(updated.definition.usage_limit, updated.usage_count)
            if after and not before:
                await emit_limit_reached(session, site, updated, now)
            return updated

        return await self._database.run(write)

    async def delete(self, site: str, rule_id: str) -> None:
        now = self._clock()

        async def remove(session: AsyncSession) -> None:
            store = self.store(session)
            current = await store.get(site, rule_id, lock=True)
            if current is None:
                raise not_found(rule_id)
            await store.delete(site, rule_id)
            await SettingsStore(session).bump(site)
            await record_event(
                session,
                site=site,
                type=DELETED,
                entity_id=rule_id,
                payload=events_pb2.DiscountRuleDeleted(
                    discount_rule_id=rule_id, discount_rule=rule_to_proto(current, now)
                ),
            )

        await self._database.run(remove)

    async def query(self, site: str, query: Query) -> tuple[list[Rule], str, datetime]:
        """A page of rules, the next page's token (empty on the last page) and the time the
        statuses were derived at."""
        now = self._clock()

        async def read(session: AsyncSession) -> list[Rule]:
            return await self.store(session).query(site, query, now)

        found = await self._database.run(read, readonly=True)
        page = found[: query.page_size]
        token = ""
        if len(found) > query.page_size:
            token = encode_token(
                sort_values(page[-1], query.sort), fingerprint(query.filter, query.sort)
            )
        return page, token, now

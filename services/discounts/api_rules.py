"""`ecom.discounts.v1.DiscountRulesService`: proto <-> domain translation only.

The site is always the caller's (from the verified token); errors are domain exceptions that the
platform interceptor maps to statuses.
"""

from __future__ import annotations

import grpc

from ecom.discounts.v1 import discount_rule_pb2, discount_settings_pb2
from ecom.discounts.v1 import discount_rules_service_pb2 as pb
from ecom.discounts.v1 import discount_rules_service_pb2_grpc as pb_grpc
from services.discounts.domain.model import StackingPolicy
from services.discounts.domain.updates import RULE_OUTPUT_ONLY, RULE_PATHS, mask_problems
from services.discounts.domain.usage import MAX_NAMED_RULES, MAX_RESERVATION_ID_LENGTH
from services.discounts.proto_applied import request_from_proto, response_to_proto, spi_template
from services.discounts.proto_common import timestamp
from services.discounts.proto_queries import rule_query
from services.discounts.proto_rules import definition_from_proto, rule_to_proto, set_fields
from services.discounts.service_applied import AppliedService
from services.discounts.service_rules import PREFIX, RuleService
from services.discounts.service_settings import RESOURCE as SETTINGS_RESOURCE
from services.discounts.service_settings import Settings, SettingsService
from services.discounts.service_usage import UsageService
from services.platform.errors import InvalidArgument, Violations, check_revision
from services.platform.identity import current_caller

_RULE_FIELDS = ("name", "active", "active_time_info", "trigger", "discounts", "settings")
_SETTINGS_PATHS = frozenset({"stacking_policy"})
_SETTINGS_OUTPUT_ONLY = frozenset({"revision", "updated_date"})


def _site() -> str:
    return current_caller().site


def _require(value: str, path: str) -> None:
    if not value:
        raise InvalidArgument.of(path, "required")


def _only(
    rule: discount_rule_pb2.DiscountRule, paths: frozenset[str]
) -> discount_rule_pb2.DiscountRule:
    """A copy of `rule` keeping only the fields the mask names (the others are not read)."""
    tops = {path.split(".")[0] for path in paths}
    partial = discount_rule_pb2.DiscountRule()
    partial.CopyFrom(rule)
    for name in _RULE_FIELDS:
        if name not in tops:
            partial.ClearField(name)  # type: ignore[arg-type]
    return partial


def _settings_proto(settings: Settings) -> discount_settings_pb2.DiscountSettings:
    message = discount_settings_pb2.DiscountSettings(
        stacking_policy=discount_settings_pb2.StackingPolicy.ValueType(
            int(settings.stacking_policy)
        ),
        revision=settings.revision,
    )
    if settings.updated is not None:
        message.updated_date.CopyFrom(timestamp(settings.updated))
    return message


def _named_rules(problems: Violations, path: str, ids: list[str]) -> None:
    if len(ids) > MAX_NAMED_RULES:
        problems.add(path, f"at most {MAX_NAMED_RULES} rule ids")
    if any(not rule_id for rule_id in ids):
        problems.add(path, "rule ids must not be empty")


def _reservation_id(problems: Violations, value: str, path: str = "reservation_id") -> None:
    if not value:
        problems.add(path, "required (the checkout id)")
    elif len(value) > MAX_RESERVATION_ID_LENGTH:
        problems.add(path, f"at most {MAX_RESERVATION_ID_LENGTH} characters")


class DiscountRulesServicer(pb_grpc.DiscountRulesServiceServicer):
    def __init__(
        self,
        rules: RuleService,
        applied: AppliedService,
        usage: UsageService,
        settings: SettingsService,
    ) -> None:
        self._rules = rules
        self._applied = applied
        self._usage = usage
        self._settings = settings

    # -- rules -------------------------------------------------------------------------------

    async def CreateDiscountRule(
        self, request: pb.CreateDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateDiscountRuleResponse:
        problems = Violations()
        if not request.HasField("discount_rule"):
            raise InvalidArgument.of("discount_rule", "required")
        definition = definition_from_proto(problems, PREFIX, request.discount_rule, creating=True)
        return await self._rules.create(
            _site(), definition, problems, request_id=request.request_id, request=request
        )

    async def GetDiscountRule(
        self, request: pb.GetDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDiscountRuleResponse:
        _require(request.discount_rule_id, "discount_rule_id")
        rule = await self._rules.get(_site(), request.discount_rule_id)
        return pb.GetDiscountRuleResponse(discount_rule=rule_to_proto(rule, self._applied.now()))

    async def UpdateDiscountRule(
        self, request: pb.UpdateDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateDiscountRuleResponse:
        rule = request.discount_rule
        problems = Violations()
        if not rule.id:
            problems.add(f"{PREFIX}id", "required")
        if not rule.revision:
            problems.add(f"{PREFIX}revision", "required: the revision read")
        paths = frozenset(request.update_mask.paths) or set_fields(rule)
        if not paths:
            problems.add("update_mask", "nothing to update: name fields or set them")
        for violation in mask_problems(paths, RULE_PATHS, RULE_OUTPUT_ONLY):
            problems.add(violation.field, violation.description)
        problems.raise_if_any()
        incoming = definition_from_proto(problems, PREFIX, _only(rule, paths), creating=False)
        updated = await self._rules.update(
            _site(), rule.id, incoming, paths, rule.revision, problems
        )
        return pb.UpdateDiscountRuleResponse(
            discount_rule=rule_to_proto(updated, self._applied.now())
        )

    async def DeleteDiscountRule(
        self, request: pb.DeleteDiscountRuleRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteDiscountRuleResponse:
        _require(request.discount_rule_id, "discount_rule_id")
        await self._rules.delete(_site(), request.discount_rule_id)
        return pb.DeleteDiscountRuleResponse()

    async def QueryDiscountRules(
        self, request: pb.QueryDiscountRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.QueryDiscountRulesResponse:
        rules, token, now = await self._rules.query(_site(), rule_query(request))
        return pb.QueryDiscountRulesResponse(
            discount_rules=[rule_to_proto(rule, now) for rule in rules], next_page_token=token
        )

    # -- evaluation --------------------------------------------------------------------------

    async def GetAppliedDiscounts(
        self, request: pb.GetAppliedDiscountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAppliedDiscountsResponse:
        evaluation_request = request_from_proto(request, self._applied.now())
        applied = await self._applied.apply(
            _site(),
            evaluation_request,
            coupon_code=request.coupon_code if request.HasField("coupon_code") else None,
            reservation_id=request.reservation_id,
            spi_template=lambda: spi_template(request),
            remaining_s=context.time_remaining(),
        )
        return response_to_proto(applied.evaluation, request.currency, applied.discounts_error)

    # -- usage -------------------------------------------------------------------------------

    async def ReserveDiscountUsage(
        self, request: pb.ReserveDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReserveDiscountUsageResponse:
        problems = Violations()
        _reservation_id(problems, request.reservation_id)
        _named_rules(problems, "discount_rule_ids", list(request.discount_rule_ids))
        if not request.discount_rule_ids and not request.coupon_code.strip():
            problems.add("discount_rule_ids", "name at least one rule or a coupon_code")
        problems.raise_if_any()
        reservation = await self._usage.reserve(
            _site(), request.reservation_id, list(request.discount_rule_ids), request.coupon_code
        )
        return pb.ReserveDiscountUsageResponse(reservation=reservation)

    async def ReleaseDiscountUsage(
        self, request: pb.ReleaseDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseDiscountUsageResponse:
        problems = Violations()
        _reservation_id(problems, request.reservation_id)
        problems.raise_if_any()
        released = await self._usage.release(_site(), request.reservation_id)
        return pb.ReleaseDiscountUsageResponse(released=released)

    async def RecordDiscountUsage(
        self, request: pb.RecordDiscountUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordDiscountUsageResponse:
        problems = Violations()
        if not request.order_id:
            problems.add("order_id", "required")
        elif len(request.order_id) > MAX_RESERVATION_ID_LENGTH:
            problems.add("order_id", f"at most {MAX_RESERVATION_ID_LENGTH} characters")
        if len(request.reservation_id) > MAX_RESERVATION_ID_LENGTH:
            problems.add("reservation_id", f"at most {MAX_RESERVATION_ID_LENGTH} characters")
        _named_rules(problems, "discount_rule_ids", list(request.discount_rule_ids))
        problems.raise_if_any()
        return await self._usage.record(
            _site(),
            request.order_id,
            request.reservation_id,
            list(request.discount_rule_ids),
            request.coupon_code,
        )

    # -- settings ----------------------------------------------------------------------------

    async def GetDiscountSettings(
        self, request: pb.GetDiscountSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDiscountSettingsResponse:
        settings = await self._settings.get(_site())
        return pb.GetDiscountSettingsResponse(discount_settings=_settings_proto(settings))

    async def UpdateDiscountSettings(
        self, request: pb.UpdateDiscountSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateDiscountSettingsResponse:
        wanted = request.discount_settings
        paths = frozenset(request.update_mask.paths)
        if not paths and wanted.stacking_policy:
            paths = frozenset({"stacking_policy"})
        problems = Violations()
        for violation in mask_problems(paths, _SETTINGS_PATHS, _SETTINGS_OUTPUT_ONLY):
            problems.add(violation.field, violation.description)
        policy: StackingPolicy | None = None
        if "stacking_policy" in paths and wanted.stacking_policy:
            try:
                policy = StackingPolicy(wanted.stacking_policy)
            except ValueError:
                problems.add("discount_settings.stacking_policy", "not a known STACKING_POLICY_*")
        problems.raise_if_any()
        site = _site()
        if not paths:  # nothing set, nothing named: nothing changes
            settings = await self._settings.get(site)
            check_revision(SETTINGS_RESOURCE, wanted.revision, settings.revision)
        else:
            settings = await self._settings.update(site, policy, wanted.revision)
        return pb.UpdateDiscountSettingsResponse(discount_settings=_settings_proto(settings))

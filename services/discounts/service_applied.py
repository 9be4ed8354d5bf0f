"""GetAppliedDiscounts: load what applies now, ask providers only what is still undecided, then
the pure evaluation. Writes nothing and holds nothing (one read-only transaction)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.common.v1 import calculation_pb2
from ecom.spi.discount_triggers.v1 import discount_triggers_provider_service_pb2 as spi
from services.discounts.domain.evaluation import (
    Candidate,
    CouponRequest,
    Request,
    Verdict,
    evaluate,
)
from services.discounts.domain.lines import LineIndex
from services.discounts.domain.model import (
    Coupon,
    CouponDefinition,
    Rule,
    RuleDefinition,
    StackingPolicy,
    code_key,
    custom_triggers,
)
from services.discounts.domain.results import Evaluation
from services.discounts.domain.status import applies_now, limit_reached
from services.discounts.domain.triggers import is_met
from services.discounts.domain.usage import HeldUses, HoldKind
from services.discounts.store_common import DefinitionCache
from services.discounts.store_coupons import CouponStore
from services.discounts.store_rules import RuleStore
from services.discounts.store_settings import SettingsStore, StoredSettings
from services.discounts.store_usage import UsageStore
from services.discounts.triggers_client import Ask, TriggerProviders
from services.platform.db import Database, utcnow
from services.platform.read_cache import ReadCache


@dataclass(frozen=True)
class Snapshot:
    """What applies on the site at one moment."""

    rules: list[Rule]
    stacking: StackingPolicy
    coupon: Coupon | None
    #: Uses held by other checkouts' reservations, per rule id and of the coupon.
    rule_holds: dict[str, int]
    coupon_holds: int


@dataclass(frozen=True)
class Applied:
    evaluation: Evaluation
    discounts_error: calculation_pb2.CalculationError | None


@dataclass
class SiteDefinitions:
    """A site's active rules and the coupons asked for so far, as of one definitions version
    (see store_settings). Every write that could change them bumps the version in its own
    transaction, so an entry whose version is still the stored one is current, in any process."""

    version: int
    #: Every active rule, oldest first; the ones LIVE at the time of a call are picked per call.
    rules: list[Rule]
    #: Coupons by code key (None: no such coupon), filled as codes are asked.
    coupons: dict[str, Coupon | None] = field(default_factory=dict)


class SiteCache:
    """Per process, bounded; an entry is replaced only by a newer version."""

    def __init__(self, max_sites: int = 10_000) -> None:
        self._sites: OrderedDict[str, SiteDefinitions] = OrderedDict()
        self._max = max_sites

    def get(self, site: str, version: int) -> SiteDefinitions | None:
        known = self._sites.get(site)
        return known if known is not None and known.version == version else None

    def put(self, site: str, known: SiteDefinitions) -> None:
        current = self._sites.get(site)
        if current is None or current.version <= known.version:
            self._sites[site] = known
            self._sites.move_to_end(site)
        while len(self._sites) > self._max:
            self._sites.popitem(last=False)


HoldsKey = tuple[HoldKind, tuple[str, ...], str]


#: Hold counts kept with a site's read: one per reservation that asked (checkouts), so bounded.
MAX_KEPT_HOLDS = 256
#: Sites whose last read a process keeps.
MAX_KEPT_SITES = 1_000


@dataclass
class SiteRead:
    """What one read-only transaction found for a site. On SQLite it is kept (`ReadCache`) while
    the database's data version does not move: the rules, coupons, settings, use counts and
    holds are then all as read."""

    settings: StoredSettings
    known: SiteDefinitions
    #: Uses held by other reservations, by (kind, targets, the caller's own reservation).
    holds: dict[HoldsKey, HeldUses] = field(default_factory=dict)


class AppliedService:
    def __init__(
        self,
        database: Database,
        rule_cache: DefinitionCache[RuleDefinition],
        coupon_cache: DefinitionCache[CouponDefinition],
        triggers: TriggerProviders,
        default_stacking: StackingPolicy,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._rule_cache = rule_cache
        self._coupon_cache = coupon_cache
        self._triggers = triggers
        self._default_stacking = default_stacking
        self._clock = clock
        self._sites = SiteCache()
        self._reads: ReadCache[str, SiteRead] = ReadCache(database, max_entries=MAX_KEPT_SITES)

    def _policy(self, stored: int) -> StackingPolicy:
        return StackingPolicy(stored) if stored else self._default_stacking

    async def _snapshot(
        self, site: str, coupon_code: str | None, reservation_id: str, now: datetime
    ) -> Snapshot:
        """What applies now. On SQLite, from this process's last read of the site when nothing
        at all was committed to the database since (its data version did not move) and that
        read holds everything this call needs; otherwise one read-only transaction: the site's
        version (and settings) first, the rules and coupon only when this process has not
        cached them for that version, and always the live holds, which reservations change
        without touching the version."""
        version = await self._reads.version()
        kept = self._reads.get(version, site)
        if kept is not None:
            found = self._compose(kept, coupon_code, reservation_id, now)
            if found is not None:
                return found

        async def read(session: AsyncSession) -> SiteRead:
            settings = await SettingsStore(session).get(site)
            known = self._sites.get(site, settings.version)
            if known is None:
                rules = await RuleStore(session, self._rule_cache).active(site)
                known = SiteDefinitions(settings.version, rules)
            if coupon_code is not None:
                key = code_key(coupon_code)
                if key not in known.coupons:
                    stores = CouponStore(session, self._coupon_cache)
                    known.coupons[key] = await stores.by_code(site, coupon_code)
            done = SiteRead(settings, known)
            if kept is not None:
                done.holds.update(kept.holds)  # same data version: still exact
            usage = UsageStore(session)
            for kind, ids in _hold_targets(known, coupon_code, now):
                done.holds[(kind, ids, reservation_id)] = await usage.held_uses(
                    site, kind, ids, now, exclude=reservation_id
                )
            return done

        done = await self._database.run(read, readonly=True)
        self._sites.put(site, done.known)
        if len(done.holds) <= MAX_KEPT_HOLDS:
            await self._reads.put(version, site, done)  # kept if nothing was committed meanwhile
        snapshot = self._compose(done, coupon_code, reservation_id, now)
        assert snapshot is not None  # the read took everything this call needs
        return snapshot

    def _compose(
        self, done: SiteRead, coupon_code: str | None, reservation_id: str, now: datetime
    ) -> Snapshot | None:
        """The snapshot at `now` from a read; None when the read lacks part of it (a coupon
        code or holds it did not count, or holds one of which has expired since)."""
        known = done.known
        coupon = None
        if coupon_code is not None:
            key = code_key(coupon_code)
            if key not in known.coupons:
                return None
            coupon = known.coupons[key]
        # Statuses come from the time: a kept rule is judged at `now`, not at the read.
        rules = [rule for rule in known.rules if applies_now(rule, now)]
        counted: dict[HoldKind, HeldUses] = {}
        for kind, ids in _hold_targets(known, coupon_code, now, rules):
            held = done.holds.get((kind, ids, reservation_id))
            if held is None or not held.still_exact(now):
                return None
            counted[kind] = held
        rule_holds = dict(counted[HoldKind.RULE].counts) if HoldKind.RULE in counted else {}
        coupon_holds = 0
        if coupon is not None and HoldKind.COUPON in counted:
            coupon_holds = counted[HoldKind.COUPON].counts.get(coupon.id, 0)
        policy = self._policy(done.settings.stacking_policy)
        return Snapshot(rules, policy, coupon, rule_holds, coupon_holds)

    async def apply(
        self,
        site: str,
        request: Request,
        *,
        coupon_code: str | None,
        reservation_id: str,
        spi_template: Callable[[], spi.GetEligibleTriggersRequest],
        remaining_s: float | None,
    ) -> Applied:
        now = request.now
        snapshot = await self._snapshot(site, coupon_code, reservation_id, now)
        lines = LineIndex(request.lines)  # one index for every rule's trigger
        verdicts: dict[str, Verdict] = {}
        undecided: list[Rule] = []
        for rule in snapshot.rules:
            held = snapshot.rule_holds.get(rule.id, 0)
            if limit_reached(rule.definition.usage_limit, rule.usage_count + held):
                verdicts[rule.id] = Verdict.RESERVED
                continue
            met = is_met(rule.definition.trigger, lines, request.subtotal, {})
            if met is None:
                undecided.append(rule)
            else:
                verdicts[rule.id] = Verdict.MET if met else Verdict.NOT_MET
        discounts_error = None
        if undecided:
            answers = await self._triggers.ask(site, _asks(undecided), spi_template(), remaining_s)
            discounts_error = answers.calculation_error()
            for rule in undecided:
                own = answers.by_rule.get(rule.id, {})
                met = is_met(rule.definition.trigger, lines, request.subtotal, own)
                failed = any(
                    trigger.app_id in answers.failed_apps
                    for _, trigger in custom_triggers(rule.definition.trigger)
                )
                if met:
                    verdicts[rule.id] = Verdict.MET
                else:
                    verdicts[rule.id] = Verdict.PROVIDER_FAILED if failed else Verdict.NOT_MET
        candidates = [Candidate(rule, verdicts[rule.id]) for rule in snapshot.rules]
        coupon = None
        if coupon_code is not None:
            coupon = CouponRequest(coupon_code.strip(), snapshot.coupon, snapshot.coupon_holds)
        with_policy = Request(
            lines=request.lines,
            currency=request.currency,
            now=now,
            stacking=snapshot.stacking,
            subtotal=request.subtotal,
            shipping_amount=request.shipping_amount,
        )
        return Applied(evaluate(with_policy, candidates, coupon, lines), discounts_error)

    def now(self) -> datetime:
        return self._clock()


def _asks(rules: Sequence[Rule]) -> list[Ask]:
    return [
        Ask(rule.id, path, trigger)
        for rule in rules
        for path, trigger in custom_triggers(rule.definition.trigger)
    ]


def _hold_targets(
    known: SiteDefinitions, coupon_code: str | None, now: datetime, live: list[Rule] | None = None
) -> list[tuple[HoldKind, tuple[str, ...]]]:
    """Whose held uses a call at `now` counts: the LIVE rules with a usage limit, and the
    coupon asked for when it has one."""
    rules = live if live is not None else [r for r in known.rules if applies_now(r, now)]
    targets = []
    limited = tuple(sorted(r.id for r in rules if r.definition.usage_limit is not None))
    if limited:
        targets.append((HoldKind.RULE, limited))
    if coupon_code is not None:
        coupon = known.coupons.get(code_key(coupon_code))
        if coupon is not None and coupon.definition.usage_limit is not None:
            targets.append((HoldKind.COUPON, (coupon.id,)))
    return targets

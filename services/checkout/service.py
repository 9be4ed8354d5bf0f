"""The checkout service layer: every CheckoutService RPC but CreateOrder (see `saga.py`).

A mutation reads the checkout, applies the change to a draft, recalculates it (provider calls,
outside any transaction), then stores it in a short unit of work that locks the row and checks
that the revision it read is still current. When another write came in between, the change is
applied again to the newer checkout (`StaleWrite`), so concurrent line operations never lose a
line and no transaction waits on a provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.cart.v1 import cart_pb2
from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2
from ecom.common.v1 import channel_pb2, line_item_pb2, pricing_pb2
from services.checkout import domain, events, store, writes
from services.checkout import validation as v
from services.checkout.calculate import Calculated, Calculator, Draft, calculation_budget
from services.checkout.catalog import CatalogRead, CatalogReader
from services.checkout.domain import (
    CHECKOUT_ALREADY_COMPLETED,
    NewCatalogLine,
    Sources,
    authorize,
    ensure_open,
    not_found,
    reference_key,
)
from services.checkout.inputs import apply_initial, apply_paths, set_paths
from services.checkout.peers import CartClient
from services.checkout.settings import CheckoutSettings
from services.checkout.store import StoredCheckout, timestamp
from services.checkout.urls import require_checkout_url
from services.checkout.writes import StaleWrite
from services.platform import inputs as shared
from services.platform.db import Database, utcnow
from services.platform.deadlines import Deadline
from services.platform.errors import (
    Conflict,
    FailedPrecondition,
    Violations,
    check_revision,
)
from services.platform.idempotency import run_idempotent, stored_response
from services.platform.identity import Caller
from services.platform.sites import SiteDirectory, SiteSettings

pb = checkout_service_pb2
CREATE_SCOPE = "ecom.checkout.v1.CheckoutService/CreateCheckout"
ADD_SCOPE = "ecom.checkout.v1.CheckoutService/AddToCheckout"
#: Placement steps during which the checkout is frozen for mutations.
PLACING = frozenset({"VALIDATING", "RESERVING", "RESERVED", "ORDERED"})
#: How often a change is re-applied after losing a race (with another process: writers of one
#: process take turns) before giving up with ABORTED.
MAX_ATTEMPTS = 30
_WEIGHT_UNITS = {"KG": channel_pb2.WEIGHT_UNIT_KG, "LB": channel_pb2.WEIGHT_UNIT_LB}


@dataclass(frozen=True)
class Idempotency:
    """AIP-155 for a mutation whose response is `{checkout}`."""

    scope: str
    request_id: str
    request: Message
    response_type: type[Message]


@dataclass
class Change:
    """What a change function decided: `skip` (nothing to do: return the checkout as it is),
    `recalculate` (False: store the draft as it is), and a check of the calculation's catalog
    answers (unknown items of new lines)."""

    skip: bool = False
    recalculate: bool = True
    check: Callable[[Calculated], None] | None = None


ChangeFn = Callable[[Draft], Awaitable[Change]]


def take_lines(checkout: checkout_pb2.Checkout) -> list[line_item_pb2.LineItem]:
    lines = []
    for line in checkout.line_items:
        copy = line_item_pb2.LineItem()
        copy.CopyFrom(line)
        lines.append(copy)
    return lines


def put_lines(checkout: checkout_pb2.Checkout, lines: Sequence[line_item_pb2.LineItem]) -> None:
    del checkout.line_items[:]
    checkout.line_items.extend(lines)


def unknown_items(
    calculated: Calculated, placed: dict[int, str], field_name: str = "line_items"
) -> None:
    """CATALOG_ITEM_NOT_FOUND for the first request line whose item the catalog answered
    without."""
    lines = {line.id: line for line in calculated.checkout.line_items}
    for index in sorted(placed):
        line = lines.get(placed[index])
        if line is not None and reference_key(line.catalog_reference) in (
            calculated.catalog.not_found
        ):
            raise FailedPrecondition(
                "CATALOG_ITEM_NOT_FOUND",
                f"the catalog does not know {field_name}[{index}]",
                metadata={"line_item_index": str(index)},
            )


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it. Mutations of one
    checkout in one process take turns instead of recalculating in parallel only for all but
    one to lose the revision race."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class CheckoutService:
    def __init__(
        self,
        database: Database,
        calculator: Calculator,
        catalog: CatalogReader,
        sites: SiteDirectory,
        settings: CheckoutSettings,
        carts: CartClient,
    ) -> None:
        self.db = database
        self.calculator = calculator
        self.catalog = catalog
        self.sites = sites
        self.settings = settings
        self.carts = carts
        self._turns = KeyedLocks()

    # ------------------------------------------------------------------ reads

    async def read(self, site: str, checkout_id: str) -> tuple[StoredCheckout, bool]:
        """The stored checkout and whether a placement is running for it."""

        async def unit(session: AsyncSession) -> tuple[StoredCheckout | None, bool]:
            stored = await store.load(session, site, checkout_id)
            placement = await store.load_placement(session, checkout_id)
            return stored, placement is not None and placement.step in PLACING

        stored, placing = await self.db.run(unit, readonly=True)
        if stored is None:
            raise not_found(checkout_id)
        return stored, placing

    async def get(self, caller: Caller, checkout_id: str) -> checkout_pb2.Checkout:
        _check_id(checkout_id, uuid_required=True)
        stored, _ = await self.read(caller.site, checkout_id)
        authorize(caller, stored.buyer_kind, stored.buyer_id)
        return stored.checkout

    async def checkout_url(self, caller: Caller, checkout_id: str) -> str:
        _check_id(checkout_id)
        stored, _ = await self.read(caller.site, checkout_id)
        authorize(caller, stored.buyer_kind, stored.buyer_id)
        return require_checkout_url(stored.checkout, self.settings)

    # ------------------------------------------------------------------ the write path

    async def calculate(
        self, site: str, draft: Draft, deadline: Deadline, *, fresh: bool = False
    ) -> Calculated:
        budget = calculation_budget(deadline, self.settings.calculation_budget_s)
        return await self.calculator.calculate(site, draft, budget, fresh=fresh)

    async def _replay(self, site: str, idem: Idempotency | None) -> checkout_pb2.Checkout | None:
        if idem is None:
            return None

        response = await stored_response(
            self.db,
            site=site,
            scope=idem.scope,
            request_id=idem.request_id,
            request=idem.request,
            response_type=idem.response_type,
        )
        return None if response is None else response.checkout  # type: ignore[attr-defined]

    async def _idempotent(
        self,
        session: AsyncSession,
        site: str,
        idem: Idempotency | None,
        produce: Callable[[], Awaitable[checkout_pb2.Checkout]],
    ) -> checkout_pb2.Checkout:
        if idem is None:
            return await produce()

        async def respond() -> Message:
            return idem.response_type(checkout=await produce())

        response = await run_idempotent(
            session,
            site=site,
            scope=idem.scope,
            request_id=idem.request_id,
            request=idem.request,
            response_type=idem.response_type,
            produce=respond,
        )
        checkout: checkout_pb2.Checkout = response.checkout  # type: ignore[attr-defined]
        return checkout

    async def mutate(
        self,
        caller: Caller,
        checkout_id: str,
        revision: int,
        change: ChangeFn,
        *,
        deadline: Deadline,
        idem: Idempotency | None = None,
    ) -> checkout_pb2.Checkout:
        site = caller.site
        replayed = await self._replay(site, idem)
        if replayed is not None:
            return replayed
        async with self._turns.hold(checkout_id):
            return await self._mutate(caller, checkout_id, revision, change, deadline, idem)

    async def _mutate(
        self,
        caller: Caller,
        checkout_id: str,
        revision: int,
        change: ChangeFn,
        deadline: Deadline,
        idem: Idempotency | None,
    ) -> checkout_pb2.Checkout:
        site = caller.site
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                # Another process wrote in between: step aside a little before trying again.
                await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
            stored, placing = await self.read(site, checkout_id)
            authorize(caller, stored.buyer_kind, stored.buyer_id)
            ensure_open(stored.completed, placing)
            check_revision("checkout", revision, stored.revision)
            draft = Draft(_copy(stored.checkout), stored.sources.copy())
            decided = await change(draft)
            if decided.skip:
                return stored.checkout
            if decided.recalculate:
                calculated = await self.calculate(site, draft, deadline)
            else:
                calculated = Calculated(draft.checkout, draft.sources, CatalogRead())
            if decided.check is not None:
                decided.check(calculated)
            try:
                return await self._store(site, stored.revision, calculated, idem)
            except StaleWrite:
                continue
        raise Conflict(
            "CHECKOUT_CONTENDED", "the checkout kept changing while this call ran; retry it"
        )

    async def _store(
        self, site: str, read_revision: int, calculated: Calculated, idem: Idempotency | None
    ) -> checkout_pb2.Checkout:
        checkout_id = calculated.checkout.id

        async def unit(session: AsyncSession) -> checkout_pb2.Checkout:
            async def produce() -> checkout_pb2.Checkout:
                stored = await store.load(session, site, checkout_id, lock=True)
                if stored is None:
                    raise not_found(checkout_id)
                if stored.revision != read_revision:
                    raise StaleWrite
                placement = await store.load_placement(session, checkout_id)
                ensure_open(stored.completed, placement is not None and placement.step in PLACING)
                return await writes.store_change(
                    session,
                    site,
                    stored,
                    calculated.checkout,
                    calculated.sources,
                    utcnow(),
                    self.settings,
                )

            return await self._idempotent(session, site, idem, produce)

        return await self.db.run(unit)

    async def _insert(
        self, site: str, calculated: Calculated, idem: Idempotency | None
    ) -> checkout_pb2.Checkout:
        """Store a new checkout with `checkout_created`; StaleWrite when its cart got a
        checkout meanwhile."""
        checkout = calculated.checkout

        async def unit(session: AsyncSession) -> checkout_pb2.Checkout:
            async def produce() -> checkout_pb2.Checkout:
                now = timestamp(utcnow())
                checkout.created_date.CopyFrom(now)
                checkout.updated_date.CopyFrom(now)
                checkout.revision = 1
                if not await store.insert(session, site, checkout, calculated.sources):
                    raise StaleWrite
                await events.checkout_created(session, site, checkout)
                return checkout

            return await self._idempotent(session, site, idem, produce)

        return await self.db.run(unit)

    # ------------------------------------------------------------------ CreateCheckout

    async def create(
        self, caller: Caller, request: pb.CreateCheckoutRequest, remaining_s: float | None
    ) -> checkout_pb2.Checkout:
        deadline = Deadline(remaining_s)
        settings = self.sites.for_site(caller.site)
        _check_create(caller, request)
        idem = (
            Idempotency(CREATE_SCOPE, request.request_id, request, pb.CreateCheckoutResponse)
            if request.request_id
            else None
        )
        replayed = await self._replay(caller.site, idem)
        if replayed is not None:
            return replayed
        if request.cart_id:
            return await self._from_cart(caller, request, settings, deadline, idem)
        await self._require_catalog_apps(caller.site, request.line_items)
        for _ in range(MAX_ATTEMPTS):
            draft = self._new_draft(caller, request.checkout_info, request.channel_type, settings)
            apply_initial(caller, draft.checkout, draft.sources, request.checkout_info, settings)
            _apply_codes(draft.sources, request.coupon_code, request.gift_card_code)
            lines = take_lines(draft.checkout)
            placed = domain.add_catalog_lines(
                lines,
                draft.sources,
                [
                    NewCatalogLine(item.catalog_reference, item.quantity, index)
                    for index, item in enumerate(request.line_items)
                ],
            )
            domain.add_custom_lines(lines, draft.sources, request.custom_line_items)
            put_lines(draft.checkout, lines)
            calculated = await self.calculate(caller.site, draft, deadline)
            unknown_items(calculated, placed)
            try:
                return await self._insert(caller.site, calculated, idem)
            except StaleWrite:  # pragma: no cover - only carts collide on insert
                continue
        raise Conflict("CHECKOUT_CONTENDED", "retry the call")

    async def _require_catalog_apps(
        self, site: str, items: Sequence[line_item_pb2.LineItem]
    ) -> None:
        apps = {item.catalog_reference.app_id for item in items}
        if not apps:
            return
        registered = await self.catalog.registered_apps(site)
        for item in items:
            app_id = item.catalog_reference.app_id
            if app_id not in registered:
                raise FailedPrecondition(
                    "CATALOG_PROVIDER_NOT_FOUND",
                    f"no catalog provider is registered under app id {app_id!r}",
                    metadata={"app_id": app_id},
                )

    def _new_draft(
        self,
        caller: Caller,
        info: checkout_pb2.Checkout,
        channel: channel_pb2.ChannelType.ValueType,
        settings: SiteSettings,
        buyer: checkout_pb2.Checkout | None = None,
    ) -> Draft:
        checkout = checkout_pb2.Checkout(
            id=str(uuid.uuid4()),
            currency=settings.currency,
            channel_type=channel,
            site_language=settings.site_language,
            weight_unit=_WEIGHT_UNITS[settings.weight_unit],
            tax_included_in_prices=settings.tax_included_in_prices,
            created_by=domain.created_by(caller),
            purchase_flow_id=str(uuid.uuid4()),
        )
        checkout.buyer_info.CopyFrom(domain.resolve_buyer(caller, info.buyer_info))
        return Draft(checkout, Sources())

    async def _from_cart(
        self,
        caller: Caller,
        request: pb.CreateCheckoutRequest,
        settings: SiteSettings,
        deadline: Deadline,
        idem: Idempotency | None,
    ) -> checkout_pb2.Checkout:
        site = caller.site
        cart = await self.carts.get(site, request.cart_id, remaining_s=deadline.remaining())
        if caller.is_buyer:
            kind, buyer_id = domain.buyer_key(cart.buyer_info)
            authorize(caller, kind, buyer_id)
        if not cart.line_items:
            raise FailedPrecondition("CART_EMPTY", "the cart has no lines")
        for _ in range(MAX_ATTEMPTS):
            existing = await self.db.run(
                lambda session: store.find_by_cart(session, site, request.cart_id), readonly=True
            )
            if existing is not None:
                if existing.completed:
                    raise FailedPrecondition(
                        CHECKOUT_ALREADY_COMPLETED,
                        "the cart's checkout is already completed",
                        metadata={"checkout_id": existing.id},
                    )

                async def refresh(draft: Draft) -> Change:
                    _take_cart(draft, cart)
                    apply_initial(
                        caller, draft.checkout, draft.sources, request.checkout_info, settings
                    )
                    _apply_codes(draft.sources, request.coupon_code, request.gift_card_code)
                    return Change()

                return await self.mutate(
                    caller, existing.id, 0, refresh, deadline=deadline, idem=idem
                )
            draft = self._new_draft(caller, request.checkout_info, request.channel_type, settings)
            draft.checkout.buyer_info.CopyFrom(cart.buyer_info)
            draft.checkout.cart_id = cart.id
            if cart.purchase_flow_id:
                draft.checkout.purchase_flow_id = cart.purchase_flow_id
            draft.checkout.weight_unit = cart.weight_unit or draft.checkout.weight_unit
            draft.checkout.buyer_note = cart.buyer_note
            draft.checkout.buyer_language = cart.buyer_language
            if settings.supports_conversion_to(cart.conversion_currency):
                draft.checkout.conversion_currency = cart.conversion_currency
            draft.checkout.override_checkout_url = cart.override_checkout_url
            if cart.HasField("contact_info"):
                draft.checkout.shipping_info.shipping_destination.CopyFrom(cart.contact_info)
                draft.checkout.billing_info.contact_details.CopyFrom(
                    cart.contact_info.contact_details
                )
            option = cart.selected_shipping_option
            if option.carrier_id and option.code:
                draft.sources.requested_option = (option.carrier_id, option.code)
            _take_cart(draft, cart)
            info = checkout_pb2.Checkout()
            info.CopyFrom(request.checkout_info)
            info.buyer_info.ClearField("id")  # the cart's buyer stays the buyer
            apply_initial(caller, draft.checkout, draft.sources, info, settings)
            _apply_codes(draft.sources, request.coupon_code, request.gift_card_code)
            calculated = await self.calculate(site, draft, deadline)
            try:
                return await self._insert(site, calculated, idem)
            except StaleWrite:
                continue  # a concurrent call created the cart's checkout: update it instead
        raise Conflict("CHECKOUT_CONTENDED", "the cart's checkout kept changing; retry")

    # ------------------------------------------------------------------ other mutations

    async def update(
        self, caller: Caller, request: pb.UpdateCheckoutRequest, remaining_s: float | None
    ) -> checkout_pb2.Checkout:
        given = request.checkout
        _check_id(given.id, field_name="checkout.id")
        problems = Violations()
        v.check_code(problems, "coupon_code", request.coupon_code)
        v.check_code(problems, "gift_card_code", request.gift_card_code)
        problems.raise_if_any()
        paths = list(request.update_mask.paths) or set_paths(given)
        settings = self.sites.for_site(caller.site)

        async def change(draft: Draft) -> Change:
            apply_paths(caller, draft.checkout, draft.sources, given, paths, settings)
            _apply_codes(draft.sources, request.coupon_code, request.gift_card_code)
            return Change()

        return await self.mutate(
            caller, given.id, given.revision, change, deadline=Deadline(remaining_s)
        )

    async def add(
        self, caller: Caller, request: pb.AddToCheckoutRequest, remaining_s: float | None
    ) -> checkout_pb2.Checkout:
        problems = Violations()
        _require_id(problems, request.id)
        count = len(request.line_items) + len(request.custom_line_items)
        shared.check_line_count(problems, "line_items", count, required=True)
        v.check_catalog_lines(problems, request.line_items, "line_items")
        v.check_custom_lines(problems, request.custom_line_items, "custom_line_items")
        if request.custom_line_items and caller.is_buyer:
            raise shared.admin_only("custom_line_items")
        problems.raise_if_any()
        await self._require_catalog_apps(caller.site, request.line_items)

        async def change(draft: Draft) -> Change:
            lines = take_lines(draft.checkout)
            placed = domain.add_catalog_lines(
                lines,
                draft.sources,
                [
                    NewCatalogLine(item.catalog_reference, item.quantity, index)
                    for index, item in enumerate(request.line_items)
                ],
            )
            domain.add_custom_lines(lines, draft.sources, request.custom_line_items)
            domain.check_line_limit(len(lines))
            put_lines(draft.checkout, lines)
            return Change(check=lambda calculated: unknown_items(calculated, placed))

        idem = (
            Idempotency(ADD_SCOPE, request.request_id, request, pb.AddToCheckoutResponse)
            if request.request_id
            else None
        )
        return await self.mutate(
            caller,
            request.id,
            request.revision,
            change,
            deadline=Deadline(remaining_s),
            idem=idem,
        )

    async def remove_lines(
        self, caller: Caller, request: pb.RemoveLineItemsRequest, remaining_s: float | None
    ) -> checkout_pb2.Checkout:
        problems = Violations()
        _require_id(problems, request.id)
        shared.check_line_ids(problems, "line_item_ids", request.line_item_ids)
        problems.raise_if_any()
        doomed = set(request.line_item_ids)

        async def change(draft: Draft) -> Change:
            lines = take_lines(draft.checkout)
            kept = [line for line in lines if line.id not in doomed]
            if len(kept) == len(lines):
                return Change(skip=True)  # nothing of it is here (a retry): no write, no event
            put_lines(draft.checkout, kept)
            for line_id in doomed:
                draft.sources.lines.pop(line_id, None)
            _drop_discount_lines(draft.checkout, doomed)
            return Change()

        return await self.mutate(
            caller, request.id, request.revision, change, deadline=Deadline(remaining_s)
        )

    async def update_quantities(
        self,
        caller: Caller,
        request: pb.UpdateLineItemsQuantityRequest,
        remaining_s: float | None,
    ) -> checkout_pb2.Checkout:
        problems = Violations()
        _require_id(problems, request.id)
        shared.check_quantity_updates(problems, "line_items", request.line_items)
        problems.raise_if_any()
        quantities = {update.id: update.quantity for update in request.line_items}

        async def change(draft: Draft) -> Change:
            lines = take_lines(draft.checkout)
            known = {line.id for line in lines}
            for update in request.line_items:
                if update.id not in known:
                    raise FailedPrecondition(
                        "LINE_ITEM_NOT_FOUND",
                        f"{update.id!r} is not a line of the checkout",
                        metadata={"line_item_id": update.id},
                    )
            for line in lines:
                line.quantity = quantities.get(line.id, line.quantity)
            put_lines(draft.checkout, lines)
            return Change()

        return await self.mutate(
            caller, request.id, request.revision, change, deadline=Deadline(remaining_s)
        )

    async def remove_coupon(
        self, caller: Caller, checkout_id: str, revision: int, remaining_s: float | None
    ) -> checkout_pb2.Checkout:
        _check_id(checkout_id)

        async def change(draft: Draft) -> Change:
            if not draft.sources.coupon_code:
                return Change(skip=True)
            draft.sources.coupon_code = ""
            return Change()

        return await self.mutate(
            caller, checkout_id, revision, change, deadline=Deadline(remaining_s)
        )

    async def remove_gift_card(
        self, caller: Caller, checkout_id: str, revision: int, remaining_s: float | None
    ) -> checkout_pb2.Checkout:
        _check_id(checkout_id)

        async def change(draft: Draft) -> Change:
            if not draft.sources.gift_card_code:
                return Change(skip=True)
            draft.sources.gift_card_code = ""
            return Change()

        return await self.mutate(
            caller, checkout_id, revision, change, deadline=Deadline(remaining_s)
        )

    async def remove_override_url(
        self, caller: Caller, checkout_id: str, revision: int
    ) -> checkout_pb2.Checkout:
        _check_id(checkout_id)

        async def change(draft: Draft) -> Change:
            if not draft.checkout.override_checkout_url:
                return Change(skip=True)
            draft.checkout.override_checkout_url = ""
            return Change(recalculate=False)  # totals do not depend on the URL

        return await self.mutate(caller, checkout_id, revision, change, deadline=Deadline(None))

    async def mark_completed(
        self, caller: Caller, checkout_id: str, revision: int
    ) -> checkout_pb2.Checkout:
        _check_id(checkout_id)
        site = caller.site

        async def unit(session: AsyncSession) -> checkout_pb2.Checkout:
            stored = await store.load(session, site, checkout_id, lock=True)
            if stored is None:
                raise not_found(checkout_id)
            if stored.completed:
                return stored.checkout  # idempotent: unchanged, nothing emitted
            placement = await store.load_placement(session, checkout_id)
            ensure_open(False, placement is not None and placement.step in PLACING)
            check_revision("checkout", revision, stored.revision)
            return await writes.complete(session, site, stored, "", utcnow(), self.settings)

        return await self.db.run(unit)


# --------------------------------------------------------------------------- helpers


def _copy(checkout: checkout_pb2.Checkout) -> checkout_pb2.Checkout:
    copy = checkout_pb2.Checkout()
    copy.CopyFrom(checkout)
    return copy


def _check_id(value: str, *, field_name: str = "id", uuid_required: bool = False) -> None:
    problems = Violations()
    if uuid_required:
        v.check_uuid(problems, field_name, value)
    else:
        v.check_id(problems, field_name, value)
    problems.raise_if_any()


def _require_id(problems: Violations, value: str) -> None:
    v.check_id(problems, "id", value)


def _apply_codes(sources: Sources, coupon_code: str, gift_card_code: str) -> None:
    if coupon_code:
        sources.coupon_code = coupon_code
    if gift_card_code:
        sources.gift_card_code = gift_card_code


def _drop_discount_lines(checkout: checkout_pb2.Checkout, doomed: set[str]) -> None:
    """Merchant discounts forget removed lines; one that named only removed lines goes (it must
    not turn into a discount of the whole order)."""
    kept: list[pricing_pb2.MerchantDiscountInput] = []
    for discount in checkout.merchant_discounts:
        ids = [i for i in discount.line_item_ids if i not in doomed]
        if discount.line_item_ids and not ids:
            continue
        copy = pricing_pb2.MerchantDiscountInput()
        copy.CopyFrom(discount)
        del copy.line_item_ids[:]
        copy.line_item_ids.extend(ids)
        kept.append(copy)
    del checkout.merchant_discounts[:]
    checkout.merchant_discounts.extend(kept)


def _take_cart(draft: Draft, cart: cart_pb2.Cart) -> None:
    """The cart's lines (their ids kept), coupon and merchant discounts onto the draft."""
    lines = []
    previous = draft.sources.lines
    draft.sources.lines = {}
    for item in cart.line_items:
        line = line_item_pb2.LineItem(id=item.id, quantity=item.quantity)
        line.catalog_reference.CopyFrom(item.catalog_reference)
        lines.append(line)
        source = previous.get(item.id)
        draft.sources.lines[item.id] = (
            source if source is not None and not source.custom else domain.LineSource(False)
        )
    put_lines(draft.checkout, lines)
    coupon = ""
    merchant: list[pricing_pb2.MerchantDiscountInput] = []
    for applied in cart.applied_discounts:
        kind = applied.WhichOneof("discount_source_type")
        if kind == "coupon":
            coupon = applied.coupon.code
        elif kind == "merchant_discount":
            merchant.append(
                pricing_pb2.MerchantDiscountInput(
                    amount=applied.merchant_discount.amount.amount,
                    description=applied.merchant_discount.description,
                    line_item_ids=list(applied.line_item_ids),
                )
            )
    draft.sources.coupon_code = coupon
    del draft.checkout.merchant_discounts[:]
    draft.checkout.merchant_discounts.extend(m for m in merchant if _positive(m.amount))


def _positive(amount: str) -> bool:
    try:
        return float(amount) > 0  # a filter only; the engine parses it exactly
    except ValueError:
        return False


def _check_create(caller: Caller, request: pb.CreateCheckoutRequest) -> None:
    if caller.is_buyer:
        if request.custom_line_items:
            raise shared.admin_only("custom_line_items")
        if request.channel_type == channel_pb2.CHANNEL_TYPE_BACKOFFICE_MERCHANT:
            raise shared.admin_only("channel_type CHANNEL_TYPE_BACKOFFICE_MERCHANT")
    problems = Violations()
    if request.channel_type == channel_pb2.CHANNEL_TYPE_UNSPECIFIED:
        problems.add("channel_type", "required")
    has_lines = bool(request.line_items or request.custom_line_items)
    if has_lines and request.cart_id:
        problems.add("cart_id", "give either lines or a cart, not both")
    elif not has_lines and not request.cart_id:
        problems.add("line_items", "give lines or a cart_id")
    count = len(request.line_items) + len(request.custom_line_items)
    shared.check_line_count(problems, "line_items", count, required=False)
    v.check_catalog_lines(problems, request.line_items, "line_items")
    v.check_custom_lines(problems, request.custom_line_items, "custom_line_items")
    v.check_code(problems, "coupon_code", request.coupon_code)
    v.check_code(problems, "gift_card_code", request.gift_card_code)
    problems.raise_if_any()

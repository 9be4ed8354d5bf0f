"""The cart's use cases: each one reads what it needs, calls the catalog outside any transaction,
then applies the domain rule to the cart *as locked in the unit of work* and writes it with its
event (transactional outbox) and, when asked, its idempotency record.

Why the rule runs twice (once on the cart as read, once on the cart as locked): the first run
fails fast on limits and tells which catalog items to read; the catalog is read with no lock
held (a slow provider must not block other writers of the cart); the second run is the one that
counts, on the current state, so that concurrent writers never lose each other's lines.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.cart.v1 import cart_pb2, cart_service_pb2, current_cart_service_pb2, events_pb2
from ecom.common.v1 import address_pb2, calculation_pb2, shipping_pb2
from services.cart import domain, store
from services.cart.catalog import CatalogRead, CatalogReader, Wanted
from services.cart.checkout import CheckoutGateway
from services.cart.discounts import Discounts, DiscountsResult, for_cart
from services.cart.domain import (
    RESOURCE,
    Buyer,
    Cart,
    CatalogStatus,
    NewLine,
)
from services.cart.money import Presenter
from services.cart.prefetch import Remembered
from services.cart.render import cart_message, line_item
from services.cart.sessions import SessionStore, buyer_key
from services.cart.totals import EstimateOptions, Estimator
from services.cart.valuation import PricedLine, priced_lines, value_lines
from services.platform import errors
from services.platform.db import Database, utcnow
from services.platform.deadlines import Deadline
from services.platform.idempotency import (
    MAX_REQUEST_ID_LENGTH,
    run_idempotent,
    stored_response,
)
from services.platform.identity import Caller, Role, TokenService
from services.platform.outbox import record_event
from services.platform.providers import PROVIDER_UNAVAILABLE
from services.platform.read_cache import ReadCache
from services.platform.sites import SiteDirectory, SiteSettings

log = logging.getLogger("ecom.cart")

KEPT_CARTS = 1000

M = TypeVar("M", bound=Message)

CART_CREATED = "ecom.cart.v1.cart_created"
CART_UPDATED = "ecom.cart.v1.cart_updated"
CART_DELETED = "ecom.cart.v1.cart_deleted"
CATALOG_PROVIDER_NOT_FOUND = "CATALOG_PROVIDER_NOT_FOUND"
CATALOG_ITEM_NOT_FOUND = "CATALOG_ITEM_NOT_FOUND"
CART_EMPTY = "CART_EMPTY"
VISITOR_TOKEN_INVALID = "VISITOR_TOKEN_INVALID"
#: Attempts to find a live current cart when sessions keep pointing at deleted ones.
_CURRENT_CART_ATTEMPTS = 3
#: Namespace of the request ids the cart derives for its calls to the checkout service.
_CHECKOUT_REQUESTS = uuid.UUID("6f1c2a52-3c1e-4c3b-9a55-1d1b6c1c7e01")

Op = Callable[[Cart], Cart]


@dataclass(frozen=True)
class Idempotency:
    """AIP-155 dedup of one call: the request (its id cleared for the fingerprint) and scope."""

    scope: str
    request_id: str
    request: Message


class _Gone(Exception):
    """The session pointed at a deleted cart (or one the caller does not own)."""


def idempotency(rpc: str, caller: Caller, request_id: str, request: Message) -> Idempotency:
    # The caller is part of the scope: two buyers who happen to send the same request id must
    # never see each other's stored response. (A long subject is hashed: scopes are bounded.)
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise errors.InvalidArgument.of("request_id", f"at most {MAX_REQUEST_ID_LENGTH} characters")
    subject = caller.subject
    if len(subject) > 64:
        subject = hashlib.sha256(subject.encode()).hexdigest()
    return Idempotency(f"{rpc}|{caller.role.value}:{subject}", request_id, request)


def current_buyer(caller: Caller) -> Buyer:
    """The buyer whose current cart a call is about; admins and services have none."""
    if caller.role not in (Role.VISITOR, Role.MEMBER):
        raise errors.PermissionDenied(
            "CURRENT_CART_FOR_BUYERS_ONLY",
            "only visitors and members have a current cart; admins and services use CartService",
        )
    return Buyer.of(caller)


class Carts:
    def __init__(
        self,
        database: Database,
        *,
        sites: SiteDirectory,
        sessions: SessionStore,
        catalog: CatalogReader,
        discounts: Discounts,
        estimator: Estimator,
        checkout: CheckoutGateway,
        tokens: TokenService,
    ) -> None:
        self._db = database
        self._sites = sites
        self.sessions = sessions
        self._catalog = catalog
        self._discounts = discounts
        self._estimator = estimator
        self._checkout = checkout
        self._tokens = tokens
        #: Carts as last read, until anything is committed to the database (SQLite only);
        #: fewer than other kept reads, as a cart may hold 300 lines.
        self._kept: ReadCache[tuple[str, str], Cart | store.Tombstone] = ReadCache(
            database, max_entries=KEPT_CARTS
        )

    # ================================================================== reading

    async def _load(self, site: str, cart_id: str) -> Cart | store.Tombstone | None:
        version = await self._kept.version()
        kept = self._kept.get(version, (site, cart_id))
        if kept is not None:
            return kept

        async def read(session: AsyncSession) -> Cart | store.Tombstone | None:
            return await store.load(session, site, cart_id)

        found = await self._db.run(read, readonly=True)
        if found is not None:
            await self._kept.put(version, (site, cart_id), found)
        return found

    async def _read(self, caller: Caller, cart_id: str) -> Cart:
        cart = await self._load(caller.site, cart_id)
        if not isinstance(cart, Cart):
            raise domain.not_found(cart_id)
        domain.check_access(cart, caller)
        return cart

    async def _read_catalog(
        self, cart: Cart, deadline: Deadline
    ) -> tuple[CatalogRead, list[calculation_pb2.CalculationError]]:
        """Read every line of `cart` from its catalog provider; the errors include lines whose
        provider is not registered (any more)."""
        read = await self._catalog.read(
            cart.site,
            [Wanted(line.ref, line.quantity) for line in cart.lines],
            currency=cart.currency,
            weight_unit=cart.weight_unit,
            language=cart.buyer_language or cart.site_language,
            remaining_s=deadline.remaining(),
        )
        problems = list(read.errors)
        for app_id in sorted(read.unknown_apps):
            problems.append(
                calculation_pb2.CalculationError(
                    code=PROVIDER_UNAVAILABLE,
                    description=f"no catalog provider is registered under app id {app_id!r}",
                    app_id=app_id,
                )
            )
        return read, problems

    async def _refreshed(self, cart: Cart, deadline: Deadline) -> Cart:
        read, _ = await self._read_catalog(cart, deadline)
        return domain.apply_catalog(cart, read.entries)

    async def _discounts_for(
        self,
        cart: Cart,
        deadline: Deadline | None = None,
        discounts: Discounts | None = None,
        priced: Sequence[PricedLine] | None = None,
    ) -> DiscountsResult:
        if priced is None:
            priced = priced_lines(cart)
        return await for_cart(
            discounts or self._discounts,
            cart,
            [p.discount_line() for p in priced],
            remaining_s=deadline.remaining() if deadline else None,
        )

    def _settings(self, cart: Cart) -> SiteSettings:
        return self._sites.for_site(cart.site)

    async def view(self, cart: Cart, known: Discounts | None = None) -> cart_pb2.Cart:
        """The cart as the API returns it, discount amounts computed now (or remembered by
        `known`, see `services.cart.prefetch`)."""
        priced = priced_lines(cart)  # once, for the discounts and the values
        discounts = await self._discounts_for(cart, discounts=known, priced=priced)
        money = Presenter(cart, self._settings(cart))
        return cart_message(cart, value_lines(cart, discounts, priced), discounts, money)

    async def get(self, caller: Caller, cart_id: str, deadline: Deadline) -> cart_pb2.Cart:
        cart = await self._read(caller, cart_id)
        return await self.view(await self._refreshed(cart, deadline))

    async def get_by_checkout(
        self, caller: Caller, checkout_id: str, deadline: Deadline
    ) -> cart_pb2.Cart:
        async def find(session: AsyncSession) -> Cart | None:
            return await store.find_by_checkout(session, caller.site, checkout_id)

        cart = await self._db.run(find, readonly=True)
        if cart is None:
            raise errors.NotFound(
                domain.CART_NOT_FOUND,
                f"no cart of this site has checkout {checkout_id!r}",
                metadata={"checkout_id": checkout_id},
            )
        domain.check_access(cart, caller)
        return await self.view(await self._refreshed(cart, deadline))

    async def estimate(
        self, caller: Caller, cart_id: str, options: EstimateOptions, deadline: Deadline
    ) -> cart_service_pb2.EstimateTotalsResponse:
        return await self._estimate(await self._read(caller, cart_id), options, deadline)

    async def _estimate(
        self, cart: Cart, options: EstimateOptions, deadline: Deadline
    ) -> cart_service_pb2.EstimateTotalsResponse:
        read, problems = await self._read_catalog(cart, deadline)
        fresh = domain.apply_catalog(cart, read.entries)
        return await self._estimator.estimate(
            fresh, self._settings(cart), options, problems, deadline
        )

    # ================================================================== writing

    def _check_new_items(self, items: Sequence[NewLine], read: CatalogRead) -> None:
        """Items being added must exist: a registered provider that knows them. (A provider
        that did not answer is no error: those lines are added unread.)"""
        for item in items:
            if item.ref.app_id in read.unknown_apps:
                raise errors.FailedPrecondition(
                    CATALOG_PROVIDER_NOT_FOUND,
                    f"no catalog provider is registered under app id {item.ref.app_id!r}",
                    metadata={"app_id": item.ref.app_id},
                )
            entry = read.entries.get(item.ref)
            if entry is not None and entry.status is CatalogStatus.NOT_FOUND:
                raise errors.FailedPrecondition(
                    CATALOG_ITEM_NOT_FOUND,
                    f"catalog {item.ref.app_id!r} does not know item {item.ref.item_id!r}",
                    metadata={"line_item_index": str(item.index)},
                )

    async def _prepare(
        self, cart: Cart, op: Op, items: Sequence[NewLine], deadline: Deadline
    ) -> tuple[Cart, CatalogRead]:
        """Run the rule on the cart as read (fail fast), then read the catalog for the result;
        returns the predicted result and what the catalog said."""
        predicted = op(cart)
        read, _ = await self._read_catalog(predicted, deadline)
        self._check_new_items(items, read)
        return predicted, read

    async def _prefetch_discounts(
        self, predicted: Cart, read: CatalogRead, deadline: Deadline
    ) -> Discounts:
        """Ask for the discounts of the predicted result now, before the write's transaction
        (see `services.cart.prefetch`). Rules are deterministic (new lines carry the ids fixed
        when the request was read), so the transaction asks the same question unless a
        concurrent write changed the cart meanwhile."""
        remembered = Remembered(self._discounts)
        await self._discounts_for(
            domain.apply_catalog(predicted, read.entries), deadline, remembered
        )
        return remembered

    async def _replayed(
        self, site: str, idem: Idempotency | None, response_type: type[M]
    ) -> M | None:
        if idem is None or not idem.request_id:
            return None
        return await stored_response(
            self._db,
            site=site,
            scope=idem.scope,
            request_id=idem.request_id,
            request=idem.request,
            response_type=response_type,
        )

    async def _in_unit(
        self,
        session: AsyncSession,
        site: str,
        idem: Idempotency | None,
        response_type: type[M],
        produce: Callable[[], Awaitable[M]],
    ) -> M:
        if idem is None or not idem.request_id:
            return await produce()
        return await run_idempotent(
            session,
            site=site,
            scope=idem.scope,
            request_id=idem.request_id,
            request=idem.request,
            response_type=response_type,
            produce=produce,
        )

    async def _updated(
        self, session: AsyncSession, old: Cart, new: Cart, known: Discounts | None = None
    ) -> cart_pb2.Cart:
        """Write `new` over `old` with its cart_updated event; returns the cart message."""
        written = domain.committed(old, new, utcnow())
        await store.save(session, old, written)
        message = await self.view(written, known)
        await record_event(
            session,
            site=written.site,
            type=CART_UPDATED,
            entity_id=written.id,
            payload=events_pb2.CartUpdated(cart=message),
        )
        return message

    async def _write(
        self,
        caller: Caller,
        cart_id: str,
        op: Op,
        *,
        revision: int,
        respond: Callable[[cart_pb2.Cart], M],
        response_type: type[M],
        deadline: Deadline,
        items: Sequence[NewLine] = (),
        idem: Idempotency | None = None,
        missing: Callable[[], errors.DomainError] | None = None,
    ) -> M:
        """One write to one cart: rule, catalog, then the rule again under the row lock."""

        def gone() -> errors.DomainError:
            return missing() if missing is not None else domain.not_found(cart_id)

        replayed = await self._replayed(caller.site, idem, response_type)
        if replayed is not None:
            return replayed
        cart = await self._load(caller.site, cart_id)
        if not isinstance(cart, Cart) or (missing is not None and not domain.owns(cart, caller)):
            raise gone()
        domain.check_access(cart, caller)
        errors.check_revision(RESOURCE, revision, cart.revision)
        predicted, read = await self._prepare(cart, op, items, deadline)
        known = await self._prefetch_discounts(predicted, read, deadline)

        async def unit(session: AsyncSession) -> M:
            async def produce() -> M:
                current = await store.load(session, caller.site, cart_id, lock=True, known=cart)
                if not isinstance(current, Cart):
                    raise gone()
                domain.check_access(current, caller)
                errors.check_revision(RESOURCE, revision, current.revision)
                new = domain.apply_catalog(op(current), read.entries)
                if not domain.changed(current, new):
                    return respond(await self.view(new, known))
                return respond(await self._updated(session, current, new, known))

            return await self._in_unit(session, caller.site, idem, response_type, produce)

        return await self._db.run(unit)

    async def create(
        self,
        caller: Caller,
        *,
        template: Callable[[Cart], Cart],
        buyer: Buyer,
        items: Sequence[NewLine],
        idem: Idempotency,
        deadline: Deadline,
    ) -> cart_service_pb2.CreateCartResponse:
        """CreateCart: `template` sets the caller's fields on a blank cart of the site."""
        replayed = await self._replayed(caller.site, idem, cart_service_pb2.CreateCartResponse)
        if replayed is not None:
            return replayed
        settings = self._sites.for_site(caller.site)

        def build() -> Cart:
            blank = _blank(str(uuid.uuid4()), caller.site, buyer, settings)
            return domain.add_lines(template(blank), items)

        predicted, read = await self._prepare(build(), lambda cart: cart, items, deadline)
        known = await self._prefetch_discounts(predicted, read, deadline)

        async def unit(session: AsyncSession) -> cart_service_pb2.CreateCartResponse:
            async def produce() -> cart_service_pb2.CreateCartResponse:
                cart = domain.apply_catalog(build(), read.entries)
                await store.insert(session, cart)
                message = await self.view(cart, known)
                await record_event(
                    session,
                    site=cart.site,
                    type=CART_CREATED,
                    entity_id=cart.id,
                    payload=events_pb2.CartCreated(cart=message),
                )
                return cart_service_pb2.CreateCartResponse(cart=message)

            return await self._in_unit(
                session, caller.site, idem, cart_service_pb2.CreateCartResponse, produce
            )

        return await self._db.run(unit)

    async def update(
        self,
        caller: Caller,
        cart_id: str,
        op: Op,
        *,
        revision: int,
        items: Sequence[NewLine] = (),
        idem: Idempotency | None = None,
        deadline: Deadline,
        missing: Callable[[], errors.DomainError] | None = None,
    ) -> cart_pb2.Cart:
        """Every write of one cart but create and delete: `op` is the domain rule."""
        # Stored idempotent responses wrap the cart in a message of their own (GetCartResponse
        # has exactly the one `cart` field every write response has).
        response = await self._write(
            caller,
            cart_id,
            op,
            revision=revision,
            respond=lambda message: cart_service_pb2.GetCartResponse(cart=message),
            response_type=cart_service_pb2.GetCartResponse,
            deadline=deadline,
            items=items,
            idem=idem,
            missing=missing,
        )
        return response.cart

    async def delete(
        self,
        caller: Caller,
        cart_id: str,
        *,
        revision: int,
        missing: Callable[[], errors.DomainError] | None = None,
    ) -> None:
        def gone() -> errors.DomainError:
            return missing() if missing is not None else domain.not_found(cart_id)

        async def unit(session: AsyncSession) -> None:
            cart = await store.load(session, caller.site, cart_id, lock=True)
            if not isinstance(cart, Cart) or (
                missing is not None and not domain.owns(cart, caller)
            ):
                raise gone()
            domain.check_access(cart, caller)
            errors.check_revision(RESOURCE, revision, cart.revision)
            await self._delete(session, cart)

        await self._db.run(unit)

    async def delete_in(self, session: AsyncSession, cart: Cart) -> None:
        """Delete a cart loaded under lock in the caller's unit of work (event consumers)."""
        await self._delete(session, cart)

    async def _delete(self, session: AsyncSession, cart: Cart) -> None:
        await store.delete(session, cart, utcnow())
        await record_event(
            session,
            site=cart.site,
            type=CART_DELETED,
            entity_id=cart.id,
            payload=events_pb2.CartDeleted(cart_id=cart.id),
        )

    async def create_checkout(
        self,
        caller: Caller,
        cart_id: str,
        *,
        channel_type: int,
        shipping_address: address_pb2.Address | None,
        billing_address: address_pb2.Address | None,
        selected_shipping_option: shipping_pb2.SelectedShippingOption | None,
        email: str,
        idem: Idempotency,
        deadline: Deadline,
        missing: Callable[[], errors.DomainError] | None = None,
    ) -> str:
        replayed = await self._replayed(caller.site, idem, cart_service_pb2.CreateCheckoutResponse)
        if replayed is not None:
            return replayed.checkout_id
        cart = await self._load(caller.site, cart_id)
        if not isinstance(cart, Cart) or (missing is not None and not domain.owns(cart, caller)):
            raise missing() if missing is not None else domain.not_found(cart_id)
        domain.check_access(cart, caller)
        if not cart.lines:
            raise errors.FailedPrecondition(CART_EMPTY, "the cart has no lines")
        forwarded = ""
        if idem.request_id:
            forwarded = str(uuid.uuid5(_CHECKOUT_REQUESTS, f"{idem.scope}|{idem.request_id}"))
        checkout_id = await self._checkout.create_from_cart(
            caller.site,
            cart_id,
            channel_type=channel_type,
            shipping_address=shipping_address,
            billing_address=billing_address,
            selected_shipping_option=selected_shipping_option,
            email=email,
            request_id=forwarded,
            remaining_s=deadline.remaining(),
        )

        async def unit(session: AsyncSession) -> cart_service_pb2.CreateCheckoutResponse:
            async def produce() -> cart_service_pb2.CreateCheckoutResponse:
                current = await store.load(session, caller.site, cart_id, lock=True, known=cart)
                if isinstance(current, Cart) and not current.checkout_id:
                    await self._updated(session, current, replace(current, checkout_id=checkout_id))
                return cart_service_pb2.CreateCheckoutResponse(checkout_id=checkout_id)

            return await self._in_unit(
                session, caller.site, idem, cart_service_pb2.CreateCheckoutResponse, produce
            )

        return (await self._db.run(unit)).checkout_id

    # ================================================================== current cart

    async def current_id(self, caller: Caller) -> str:
        buyer = current_buyer(caller)
        cart_id = await self.sessions.get(caller.site, buyer_key(buyer))
        if cart_id is None:
            raise domain.no_current_cart()
        return cart_id

    async def current(self, caller: Caller) -> Cart:
        """The caller's live current cart (a session left pointing at a deleted cart is
        dropped on the way)."""
        cart_id = await self.current_id(caller)
        cart = await self._load(caller.site, cart_id)
        if isinstance(cart, Cart) and domain.owns(cart, caller):
            return cart
        if cart is store.TOMBSTONE:
            await self.sessions.drop(caller.site, buyer_key(Buyer.of(caller)), cart_id)
        raise domain.no_current_cart()

    async def get_current(self, caller: Caller, deadline: Deadline) -> cart_pb2.Cart:
        return await self.view(await self._refreshed(await self.current(caller), deadline))

    async def estimate_current(
        self, caller: Caller, options: EstimateOptions, deadline: Deadline
    ) -> cart_service_pb2.EstimateTotalsResponse:
        return await self._estimate(await self.current(caller), options, deadline)

    async def add_to_current(
        self,
        caller: Caller,
        items: Sequence[NewLine],
        *,
        revision: int,
        idem: Idempotency,
        deadline: Deadline,
    ) -> cart_pb2.Cart:
        """AddToCurrentCart: add to the caller's current cart, creating it when there is none.

        Two first adds of one buyer must end in one cart: the session is claimed with SET NX
        (`claim`), and whoever then inserts the cart row first creates it (cart_created); the
        other finds the row and adds to it (cart_updated). A session pointing at a deleted cart
        is replaced by compare-and-set, so concurrent callers agree on the replacement too.
        """
        buyer = current_buyer(caller)
        key = buyer_key(buyer)
        replayed = await self._replayed(
            caller.site, idem, current_cart_service_pb2.AddToCurrentCartResponse
        )
        if replayed is not None:
            return replayed.cart
        settings = self._sites.for_site(caller.site)
        mapped = await self.sessions.get(caller.site, key)
        existing = None
        if mapped is not None:
            found = await self._load(caller.site, mapped)
            if isinstance(found, Cart) and domain.owns(found, caller):
                existing = found
        if existing is None and revision:
            raise errors.RevisionMismatch(RESOURCE, revision, 0)
        base = existing or _blank(mapped or "", caller.site, buyer, settings)
        if existing is not None:
            errors.check_revision(RESOURCE, revision, existing.revision)
        predicted, read = await self._prepare(
            base, lambda c: domain.add_lines(c, items), items, deadline
        )
        known = await self._prefetch_discounts(predicted, read, deadline)

        cart_id = mapped
        if cart_id is None:
            cart_id = await self.sessions.claim(caller.site, key, str(uuid.uuid4()), replacing=None)
        for _ in range(_CURRENT_CART_ATTEMPTS):
            try:
                return await self._add_or_create(
                    caller, cart_id, buyer, settings, items, read, revision, idem, known, existing
                )
            except _Gone:
                cart_id = await self.sessions.claim(
                    caller.site, key, str(uuid.uuid4()), replacing=cart_id
                )
        raise errors.Conflict(
            "CURRENT_CART_CONFLICT", "the current cart kept changing; retry the request"
        )

    async def _add_or_create(
        self,
        caller: Caller,
        cart_id: str,
        buyer: Buyer,
        settings: SiteSettings,
        items: Sequence[NewLine],
        read: CatalogRead,
        revision: int,
        idem: Idempotency,
        known: Discounts | None = None,
        existing: Cart | None = None,
    ) -> cart_pb2.Cart:
        """`existing` is the cart as read before (not re-read when it is still the stored one)."""

        async def unit(session: AsyncSession) -> current_cart_service_pb2.AddToCurrentCartResponse:
            async def produce() -> current_cart_service_pb2.AddToCurrentCartResponse:
                current = await store.load(session, caller.site, cart_id, lock=True, known=existing)
                if current is None:
                    if revision:
                        raise errors.RevisionMismatch(RESOURCE, revision, 0)
                    blank = _blank(cart_id, caller.site, buyer, settings)
                    cart = domain.apply_catalog(domain.add_lines(blank, items), read.entries)
                    if await store.insert(session, cart):
                        message = await self.view(cart, known)
                        await record_event(
                            session,
                            site=cart.site,
                            type=CART_CREATED,
                            entity_id=cart.id,
                            payload=events_pb2.CartCreated(cart=message),
                        )
                        return current_cart_service_pb2.AddToCurrentCartResponse(cart=message)
                    # A concurrent first add created it meanwhile (its insert committed while
                    # ours waited on the key): add to that cart instead.
                    current = await store.load(session, caller.site, cart_id, lock=True)
                if not isinstance(current, Cart) or not domain.owns(current, caller):
                    raise _Gone()
                errors.check_revision(RESOURCE, revision, current.revision)
                new = domain.apply_catalog(domain.add_lines(current, items), read.entries)
                message = await self._updated(session, current, new, known)
                return current_cart_service_pb2.AddToCurrentCartResponse(cart=message)

            return await self._in_unit(
                session,
                caller.site,
                idem,
                current_cart_service_pb2.AddToCurrentCartResponse,
                produce,
            )

        return (await self._db.run(unit)).cart

    async def delete_current(self, caller: Caller, *, revision: int) -> None:
        cart_id = await self.current_id(caller)
        await self.delete(caller, cart_id, revision=revision, missing=domain.no_current_cart)
        await self.sessions.drop(caller.site, buyer_key(Buyer.of(caller)), cart_id)

    # ================================================================== merging

    async def merge(
        self, caller: Caller, visitor_token: str, deadline: Deadline
    ) -> current_cart_service_pb2.MergeCurrentCartResponse:
        if caller.role is not Role.MEMBER:
            raise errors.PermissionDenied(
                "MEMBERS_ONLY", "only a member can merge a visitor cart into their cart"
            )
        visitor = self._visitor(caller, visitor_token)
        member_key = buyer_key(Buyer.of(caller))
        visitor_key = buyer_key(Buyer.of(visitor))
        visitor_id = await self.sessions.get(caller.site, visitor_key)
        member_id = await self.sessions.get(caller.site, member_key)
        visitor_cart = await self._owned(caller.site, visitor_id, visitor)
        member_cart = await self._owned(caller.site, member_id, caller)

        if visitor_cart is None:
            if visitor_id is not None:
                await self.sessions.drop(caller.site, visitor_key, visitor_id)
            if member_cart is None:
                # A concurrent merge may have just taken the visitor cart over for this member
                # (after our first look at the member's mapping): look again before failing.
                member_id = await self.sessions.get(caller.site, member_key)
                member_cart = await self._owned(caller.site, member_id, caller)
            if member_cart is None:
                raise domain.no_current_cart()
            return current_cart_service_pb2.MergeCurrentCartResponse(
                cart=await self.view(await self._refreshed(member_cart, deadline))
            )
        if member_cart is None:
            winner = await self.sessions.claim(
                caller.site, member_key, visitor_cart.id, replacing=member_id
            )
            if winner == visitor_cart.id:
                message = await self._take_over(caller, visitor, visitor_cart, deadline)
                await self.sessions.drop(caller.site, visitor_key, visitor_cart.id)
                return current_cart_service_pb2.MergeCurrentCartResponse(cart=message)
            # The member got a cart of their own meanwhile: merge into that one.
            member_cart = await self._owned(caller.site, winner, caller)
            if member_cart is None:
                raise errors.Conflict(
                    "CURRENT_CART_CONFLICT", "the member's cart changed meanwhile; retry"
                )
        response = await self._fold(caller, visitor, member_cart, visitor_cart, deadline)
        await self.sessions.drop(caller.site, visitor_key, visitor_cart.id)
        return response

    def _visitor(self, caller: Caller, token: str) -> Caller:
        if not token:
            raise errors.InvalidArgument.of("visitor_token", "required")
        try:
            visitor = self._tokens.verify(token)
        except errors.Unauthenticated:
            visitor = None
        if visitor is None or visitor.role is not Role.VISITOR or visitor.site != caller.site:
            # One answer for every failure: do not tell a caller which check a token failed.
            raise errors.PermissionDenied(
                VISITOR_TOKEN_INVALID,
                "visitor_token is not a valid, unexpired visitor token of this site",
            )
        return visitor

    async def _owned(self, site: str, cart_id: str | None, owner: Caller) -> Cart | None:
        if cart_id is None:
            return None
        cart = await self._load(site, cart_id)
        return cart if isinstance(cart, Cart) and domain.owns(cart, owner) else None

    async def _take_over(
        self, member: Caller, visitor: Caller, cart: Cart, deadline: Deadline
    ) -> cart_pb2.Cart:
        """Visitor cart only: it becomes the member's, keeping its id."""
        read, _ = await self._read_catalog(cart, deadline)

        async def unit(session: AsyncSession) -> cart_pb2.Cart:
            current = await store.load(session, member.site, cart.id, lock=True)
            if not isinstance(current, Cart):
                raise domain.no_current_cart()
            if domain.owns(current, member):  # a concurrent merge did it already
                return await self.view(domain.apply_catalog(current, read.entries))
            if not domain.owns(current, visitor):
                raise domain.no_current_cart()
            new = domain.apply_catalog(domain.take_over(current, member.subject), read.entries)
            return await self._updated(session, current, new)

        return await self._db.run(unit)

    async def _fold(
        self, member: Caller, visitor: Caller, into: Cart, source: Cart, deadline: Deadline
    ) -> current_cart_service_pb2.MergeCurrentCartResponse:
        """Visitor and member carts: lines fold into the member cart; the visitor cart goes."""
        read, _ = await self._read_catalog(domain.merge(into, source).cart, deadline)

        async def unit(session: AsyncSession) -> current_cart_service_pb2.MergeCurrentCartResponse:
            # Lock both in id order, so two merges of one pair can never deadlock.
            locked: dict[str, Cart | store.Tombstone | None] = {}
            for cart_id in sorted({into.id, source.id}):
                locked[cart_id] = await store.load(session, member.site, cart_id, lock=True)
            member_cart, visitor_cart = locked[into.id], locked[source.id]
            if not isinstance(member_cart, Cart) or not domain.owns(member_cart, member):
                raise errors.Conflict(
                    "CURRENT_CART_CONFLICT", "the member's cart changed meanwhile; retry"
                )
            if not isinstance(visitor_cart, Cart) or not domain.owns(visitor_cart, visitor):
                # Merged (or deleted) by a concurrent call: nothing left to merge.
                fresh = domain.apply_catalog(member_cart, read.entries)
                return current_cart_service_pb2.MergeCurrentCartResponse(
                    cart=await self.view(fresh)
                )
            result = domain.merge(member_cart, visitor_cart)
            # The visitor cart goes first: its lines' rows are freed for the ids they keep.
            await self._delete(session, visitor_cart)
            new = domain.apply_catalog(result.cart, read.entries)
            if domain.changed(member_cart, new):
                message = await self._updated(session, member_cart, new)
            else:
                message = await self.view(new)
            money = Presenter(visitor_cart, self._sites.for_site(visitor_cart.site))
            return current_cart_service_pb2.MergeCurrentCartResponse(
                cart=message,
                skipped_line_items=[line_item(line, money) for line in result.skipped],
            )

        return await self._db.run(unit)


def _blank(cart_id: str, site: str, buyer: Buyer, settings: SiteSettings) -> Cart:
    now = utcnow()
    return Cart(
        id=cart_id,
        site=site,
        buyer=buyer,
        currency=settings.currency,
        site_language=settings.site_language,
        tax_included_in_prices=settings.tax_included_in_prices,
        weight_unit=settings.weight_unit,
        purchase_flow_id=str(uuid.uuid4()),
        created=now,
        updated=now,
    )

"""CartService by id: ownership, idempotency, no-op writes, the catalog read on every change (and
its outages as data), checkouts, events through the outbox."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import any_pb2
from sqlalchemy.ext.asyncio import AsyncSession

from ecom.cart.v1 import cart_pb2, events_pb2
from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.cart.v1 import current_cart_service_pb2 as current_pb
from ecom.checkout.v1 import checkout_pb2
from ecom.checkout.v1 import events_pb2 as checkout_events
from ecom.common.v1 import catalog_pb2, channel_pb2, line_item_pb2, pricing_pb2
from ecom.events.v1 import event_pb2
from services.platform.identity import Role
from services.platform.providers import Kind
from services.platform.schema.tables import outbox
from tests.integration.cart.conftest import DEMO_ITEMS, Suite
from tests.integration.cart.kit import CatalogProvider, error_info, item, line, struct

pytestmark = pytest.mark.integration


async def _events(suite: Suite, cart_id: str) -> list[tuple[str, any_pb2.Any]]:
    async def read(session: AsyncSession) -> list[tuple[str, any_pb2.Any]]:
        rows = await session.execute(
            sa.select(outbox).where(outbox.c.entity_id == cart_id).order_by(outbox.c.id)
        )
        return [(r.type, any_pb2.Any(type_url=r.payload_type, value=r.payload)) for r in rows]

    return await suite.runtime.database("cart").run(read, readonly=True)


async def test_events_announce_every_write_and_only_writes(
    suite: Suite, catalog: CatalogProvider
) -> None:
    me = suite.member()
    cart = (
        await suite.cart.CreateCart(
            cart_pb.CreateCartRequest(line_items=[line("tee")]), metadata=me
        )
    ).cart
    added = (
        await suite.cart.AddToCart(
            cart_pb.AddToCartRequest(id=cart.id, line_items=[line("mug")]), metadata=me
        )
    ).cart
    # Writes that change nothing: no revision, no event.
    same = (
        await suite.cart.RemoveLineItems(
            cart_pb.RemoveLineItemsRequest(id=cart.id, line_item_ids=["not-a-line"]), metadata=me
        )
    ).cart
    assert same.revision == added.revision == 2
    again = await suite.cart.UpdateLineItemsQuantity(
        cart_pb.UpdateLineItemsQuantityRequest(
            id=cart.id,
            line_items=[line_item_pb2.LineItemQuantityUpdate(id=cart.line_items[0].id, quantity=1)],
        ),
        metadata=me,
    )
    assert again.cart.revision == 2
    nothing = await suite.cart.RemoveCoupon(cart_pb.RemoveCouponRequest(id=cart.id), metadata=me)
    assert nothing.cart.revision == 2
    await suite.cart.DeleteCart(cart_pb.DeleteCartRequest(id=cart.id), metadata=me)
    events = await _events(suite, cart.id)
    assert [t for t, _ in events] == [
        "ecom.cart.v1.cart_created",
        "ecom.cart.v1.cart_updated",
        "ecom.cart.v1.cart_deleted",
    ]
    created, updated, deleted = (
        events_pb2.CartCreated(),
        events_pb2.CartUpdated(),
        events_pb2.CartDeleted(),
    )
    assert events[0][1].Unpack(created) and created.cart == cart
    assert events[1][1].Unpack(updated) and updated.cart == added
    assert events[2][1].Unpack(deleted) and deleted.cart_id == cart.id
    # A retry of the delete is NOT_FOUND (callers may treat it as success).
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await suite.cart.DeleteCart(cart_pb.DeleteCartRequest(id=cart.id), metadata=me)
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND


async def test_request_ids_make_adds_and_creates_idempotent(
    suite: Suite, catalog: CatalogProvider
) -> None:
    me = suite.visitor()
    request_id = str(uuid.uuid4())
    create = cart_pb.CreateCartRequest(line_items=[line("tee")], request_id=request_id)
    first = await suite.cart.CreateCart(create, metadata=me)
    retry = await suite.cart.CreateCart(create, metadata=me)
    assert retry == first
    add = cart_pb.AddToCartRequest(
        id=first.cart.id, line_items=[line("tee", 2)], request_id=request_id
    )
    added = await suite.cart.AddToCart(add, metadata=me)
    assert (await suite.cart.AddToCart(add, metadata=me)) == added
    assert added.cart.line_items[0].quantity == 3 and added.cart.revision == 2
    other = cart_pb.AddToCartRequest(
        id=first.cart.id, line_items=[line("mug")], request_id=request_id
    )
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await suite.cart.AddToCart(other, metadata=me)
    assert reused.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert error_info(reused.value)[0] == "REQUEST_ID_REUSED"
    # A retry is answered from the first response even where a fresh run would be refused: the
    # revision it names is stale by now, and the line is at its limit.
    full = cart_pb.AddToCartRequest(
        id=first.cart.id,
        line_items=[line("tee", 99_997)],
        request_id=str(uuid.uuid4()),
        revision=added.cart.revision,
    )
    at_limit = await suite.cart.AddToCart(full, metadata=me)
    assert at_limit.cart.line_items[0].quantity == 100_000
    assert await suite.cart.AddToCart(full, metadata=me) == at_limit
    # Another buyer sending the same request id never gets this buyer's stored answer.
    stranger = suite.visitor()
    theirs = await suite.cart.CreateCart(create, metadata=stranger)
    assert theirs.cart.id != first.cart.id
    # Current cart adds too.
    current = current_pb.AddToCurrentCartRequest(line_items=[line("mug")], request_id=request_id)
    one = await suite.current.AddToCurrentCart(current, metadata=me)
    two = await suite.current.AddToCurrentCart(current, metadata=me)
    assert one == two and two.cart.line_items[0].quantity == 1


async def test_staff_reach_every_cart_of_their_site_only(
    suite: Suite, catalog: CatalogProvider
) -> None:
    admin = suite.admin()
    made = await suite.cart.CreateCart(
        cart_pb.CreateCartRequest(
            cart_info=cart_pb2.Cart(
                buyer_info={"member_id": "m-42", "contact_id": "c-7"},  # type: ignore[arg-type]
                override_checkout_url="https://pay.example/checkout",
            ),
            line_items=[line("tee")],
            merchant_discounts=[pricing_pb2.MerchantDiscountInput(amount="2.50")],
        ),
        metadata=admin,
    )
    cart = made.cart
    assert cart.buyer_info.member_id == "m-42" and cart.buyer_info.contact_id == "c-7"
    assert cart.applied_discounts[0].merchant_discount.amount.amount == "2.50"
    owner = suite.member("m-42")
    assert (await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=owner)).cart.id
    # A visitor token with the same subject is not the member.
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=suite.visitor("m-42"))
    assert not_theirs.value.code() is grpc.StatusCode.PERMISSION_DENIED
    # Another site's admin does not even see it.
    elsewhere = suite.auth(Role.ADMIN, "admin-1", site=f"other-{uuid.uuid4().hex[:6]}")
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=elsewhere)
    assert hidden.value.code() is grpc.StatusCode.NOT_FOUND
    # Removing the line a merchant discount names removes that discount too.
    update = cart_pb.UpdateCartRequest(
        cart=cart_pb2.Cart(id=cart.id),
        merchant_discounts=[
            pricing_pb2.MerchantDiscountInput(amount="1", line_item_ids=[cart.line_items[0].id])
        ],
    )
    with_line = (await suite.cart.UpdateCart(update, metadata=admin)).cart
    assert list(with_line.applied_discounts[0].line_item_ids) == [cart.line_items[0].id]
    emptied = await suite.cart.RemoveLineItems(
        cart_pb.RemoveLineItemsRequest(id=cart.id, line_item_ids=[cart.line_items[0].id]),
        metadata=owner,
    )
    assert not emptied.cart.line_items and not emptied.cart.applied_discounts


async def test_catalog_data_is_reread_and_outages_are_data(suite: Suite) -> None:
    provider = CatalogProvider(DEMO_ITEMS)
    await suite.provide(Kind.CATALOG, "shop", provider)
    me = suite.member()
    cart = (
        await suite.cart.CreateCart(
            cart_pb.CreateCartRequest(line_items=[line("tee", size="M", color="red"), line("mug")]),
            metadata=me,
        )
    ).cart
    # The same options in another key order are the same line.
    merged = await suite.cart.AddToCart(
        cart_pb.AddToCartRequest(
            id=cart.id, line_items=[line("tee", color="red", size="M"), line("tee", size="L")]
        ),
        metadata=me,
    )
    assert [li.quantity for li in merged.cart.line_items] == [2, 1, 1]
    assert merged.cart.line_items[0].catalog_reference.options == struct(
        {"size": "M", "color": "red"}
    )

    # The catalog goes down: reads and writes still work, with the data last read.
    provider.fail = grpc.StatusCode.UNAVAILABLE
    provider.items["ebook"] = item("E-book", "5.00", shippable=False)
    down = await suite.cart.AddToCart(
        cart_pb.AddToCartRequest(id=cart.id, line_items=[line("ebook")]), metadata=me
    )
    unread = down.cart.line_items[-1]
    assert unread.availability.status == catalog_pb2.AVAILABILITY_STATUS_UNSPECIFIED
    assert not unread.HasField("price")
    assert down.cart.line_items[0].price.amount == "19.99"  # kept from the last read
    totals = await suite.cart.EstimateTotals(cart_pb.EstimateTotalsRequest(id=cart.id), metadata=me)
    assert [e.code for e in totals.calculation_errors.catalog_errors] == ["PROVIDER_UNAVAILABLE"]
    assert totals.price_summary.subtotal.amount == "68.47"  # 3 x 19.99 + 8.50: the e-book unpriced
    assert unread.id not in {c.line_item_id for c in totals.calculated_line_items}

    # Back up, with a new price and without the mug: re-read on the next read.
    provider.fail = None
    provider.items["tee"] = item("T-shirt", "17.00")
    del provider.items["mug"]
    # (Catalog answers are cached per identical request: the cart changed, so this is a new one.)
    fresh = await suite.cart.EstimateTotals(cart_pb.EstimateTotalsRequest(id=cart.id), metadata=me)
    lines = {li.catalog_reference.catalog_item_id: li for li in fresh.cart.line_items}
    assert lines["mug"].availability.status == catalog_pb2.AVAILABILITY_STATUS_NOT_FOUND
    assert lines["mug"].product_name.original == "Mug" and not lines["mug"].HasField("price")
    assert lines["ebook"].price.amount == "5.00"
    assert fresh.price_summary.subtotal.amount == "56.00"  # 3 x 17.00 + 5.00
    (unknown,) = fresh.calculation_errors.order_validation_errors
    assert unknown.code == "CATALOG_ITEM_NOT_FOUND"


async def test_checkouts_are_refused_honestly_while_the_checkout_service_is_missing(
    suite: Suite, catalog: CatalogProvider
) -> None:
    me = suite.visitor()
    empty = (await suite.cart.CreateCart(cart_pb.CreateCartRequest(), metadata=me)).cart
    with pytest.raises(grpc.aio.AioRpcError) as no_lines:
        await suite.cart.CreateCheckout(
            cart_pb.CreateCheckoutRequest(id=empty.id, channel_type=channel_pb2.CHANNEL_TYPE_WEB),
            metadata=me,
        )
    assert (no_lines.value.code(), error_info(no_lines.value)[0]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CART_EMPTY",
    )
    cart = (
        await suite.cart.AddToCart(
            cart_pb.AddToCartRequest(id=empty.id, line_items=[line("tee")]), metadata=me
        )
    ).cart
    with pytest.raises(grpc.aio.AioRpcError) as no_channel:
        await suite.cart.CreateCheckout(cart_pb.CreateCheckoutRequest(id=cart.id), metadata=me)
    assert no_channel.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as backoffice:
        await suite.cart.CreateCheckout(
            cart_pb.CreateCheckoutRequest(
                id=cart.id, channel_type=channel_pb2.CHANNEL_TYPE_BACKOFFICE_MERCHANT
            ),
            metadata=me,
        )
    assert backoffice.value.code() is grpc.StatusCode.PERMISSION_DENIED
    for call in (
        suite.cart.CreateCheckout(
            cart_pb.CreateCheckoutRequest(id=cart.id, channel_type=channel_pb2.CHANNEL_TYPE_WEB),
            metadata=me,
        ),
        suite.current.CreateCheckoutFromCurrentCart(
            current_pb.CreateCheckoutFromCurrentCartRequest(
                channel_type=channel_pb2.CHANNEL_TYPE_WEB
            ),
            metadata=suite.visitor(),
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as unavailable:
            await call
        code = unavailable.value.code()
        assert code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.NOT_FOUND)
        if code is grpc.StatusCode.UNAVAILABLE:
            assert error_info(unavailable.value)[0] == "CHECKOUT_SERVICE_UNAVAILABLE"
    after = (await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=me)).cart
    assert after.checkout_id == "" and after.revision == cart.revision
    with pytest.raises(grpc.aio.AioRpcError) as by_checkout:
        await suite.cart.GetCartByCheckoutId(
            cart_pb.GetCartByCheckoutIdRequest(id=str(uuid.uuid4())), metadata=me
        )
    assert by_checkout.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_completed_checkout_deletes_its_cart_and_the_next_add_starts_anew(
    suite: Suite, catalog: CatalogProvider
) -> None:
    me = suite.visitor()
    cart = (
        await suite.current.AddToCurrentCart(
            current_pb.AddToCurrentCartRequest(line_items=[line("tee")]), metadata=me
        )
    ).cart
    # What the checkout service will publish once it exists.
    completed = checkout_events.CheckoutCompleted(
        checkout=checkout_pb2.Checkout(id=str(uuid.uuid4()), cart_id=cart.id, completed=True),
        order_id=str(uuid.uuid4()),
    )
    payload = any_pb2.Any()
    payload.Pack(completed)
    await suite.runtime.bus.publish(
        [
            event_pb2.Event(
                id=str(uuid.uuid4()),
                type="ecom.checkout.v1.checkout_completed",
                site=suite.site,
                entity_id=completed.checkout.id,
                entity_sequence=1,
                payload=payload,
            )
        ]
    )
    for _ in range(500):  # bounded wait for the consumer
        events = [t for t, _ in await _events(suite, cart.id)]
        if "ecom.cart.v1.cart_deleted" in events:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the cart was not deleted")
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=me)
    assert error_info(gone.value)[0] == "OWNED_CART_NOT_FOUND"
    fresh = await suite.current.AddToCurrentCart(
        current_pb.AddToCurrentCartRequest(line_items=[line("mug")]), metadata=me
    )
    assert fresh.cart.id != cart.id
    assert [li.catalog_reference.catalog_item_id for li in fresh.cart.line_items] == ["mug"]

"""CheckoutService's mutations and reads over real gRPC: validation, permissions, field masks,
revisions, line operations under concurrency, coupons and gift cards, URLs, completion."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.cart.v1 import current_cart_service_pb2
from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2
from ecom.common.v1 import (
    buyer_pb2,
    catalog_pb2,
    channel_pb2,
    line_item_pb2,
    money_pb2,
    pricing_pb2,
)
from tests.integration.checkout.conftest import (
    SQLITE_ONLY,
    URL_TEMPLATE,
    StartSuite,
    Suite,
    product,
)
from tests.integration.checkout.kit import address, error_info, line

pytestmark = pytest.mark.integration
pb = checkout_service_pb2
UPDATED = "ecom.checkout.v1.checkout_updated"


async def failure(call: object) -> tuple[grpc.StatusCode, str, dict[str, str], set[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    reason, metadata, fields = error_info(caught.value)
    return caught.value.code(), reason, metadata, fields


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


@SQLITE_ONLY
async def test_creating_from_lines_merges_equal_items_and_checks_them(suite: Suite) -> None:
    await suite.products(product("tee", "19.99"), product("cap", "9.00"), stock={})
    checkout = await suite.create([line("tee", 1), line("cap", 2), line("tee", 3)])
    assert [(i.catalog_reference.catalog_item_id, i.quantity) for i in checkout.line_items] == [
        ("tee", 4),
        ("cap", 2),
    ]
    assert checkout.revision == 1
    assert checkout.buyer_info.visitor_id == "visitor-1"
    assert checkout.created_by.visitor_id == "visitor-1"
    assert checkout.currency == "USD" and checkout.channel_type == channel_pb2.CHANNEL_TYPE_WEB
    assert [c.line_item_id for c in checkout.calculated_line_items] == [
        i.id for i in checkout.line_items
    ]
    assert checkout.price_summary.subtotal.amount == "97.96"  # 4 x 19.99 + 2 x 9.00
    assert await suite.events(entity_id=checkout.id) == ["ecom.checkout.v1.checkout_created"]

    visitor = suite.visitor()
    create = suite.checkout.CreateCheckout
    code, reason, metadata, _ = await failure(
        create(
            pb.CreateCheckoutRequest(
                line_items=[line("tee"), line("nope")], channel_type=channel_pb2.CHANNEL_TYPE_WEB
            ),
            metadata=visitor,
        )
    )
    assert (code, reason, metadata) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CATALOG_ITEM_NOT_FOUND",
        {"line_item_index": "1"},
    )
    code, reason, metadata, _ = await failure(
        create(
            pb.CreateCheckoutRequest(
                line_items=[line("tee", app_id="nobody")],
                channel_type=channel_pb2.CHANNEL_TYPE_WEB,
            ),
            metadata=visitor,
        )
    )
    assert (reason, metadata) == ("CATALOG_PROVIDER_NOT_FOUND", {"app_id": "nobody"})
    code, reason, metadata, _ = await failure(
        create(
            pb.CreateCheckoutRequest(
                line_items=[line("tee", 60_000), line("tee", 60_000)],
                channel_type=channel_pb2.CHANNEL_TYPE_WEB,
            ),
            metadata=visitor,
        )
    )
    assert (reason, metadata) == ("LINE_ITEM_QUANTITY_LIMIT_EXCEEDED", {"line_item_index": "1"})
    code, _, _, fields = await failure(
        create(pb.CreateCheckoutRequest(line_items=[line("tee", 0)]), metadata=visitor)
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert fields == {"channel_type", "line_items[0].quantity"}
    code, _, _, fields = await failure(
        create(
            pb.CreateCheckoutRequest(
                line_items=[line("tee")],
                cart_id="c",
                channel_type=channel_pb2.CHANNEL_TYPE_WEB,
                checkout_info=checkout_pb2.Checkout(
                    buyer_info=buyer_pb2.BuyerInfo(email="not-an-email"), buyer_note="x" * 1001
                ),
            ),
            metadata=visitor,
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "cart_id" in fields
    # Back-office inputs from a buyer.
    for request in (
        pb.CreateCheckoutRequest(
            custom_line_items=[custom("Gift wrap", "3.00")],
            channel_type=channel_pb2.CHANNEL_TYPE_WEB,
        ),
        pb.CreateCheckoutRequest(
            line_items=[line("tee")], channel_type=channel_pb2.CHANNEL_TYPE_BACKOFFICE_MERCHANT
        ),
        pb.CreateCheckoutRequest(
            line_items=[line("tee")],
            channel_type=channel_pb2.CHANNEL_TYPE_WEB,
            checkout_info=checkout_pb2.Checkout(override_checkout_url="https://x.example/"),
        ),
        pb.CreateCheckoutRequest(
            line_items=[line("tee")],
            channel_type=channel_pb2.CHANNEL_TYPE_WEB,
            checkout_info=checkout_pb2.Checkout(
                buyer_info=buyer_pb2.BuyerInfo(visitor_id="someone-else")
            ),
        ),
    ):
        code, _, _, _ = await failure(create(request, metadata=visitor))
        assert code is grpc.StatusCode.PERMISSION_DENIED


def custom(name: str, price: str, quantity: int = 1) -> checkout_pb2.CustomLineItem:
    item = checkout_pb2.CustomLineItem(
        quantity=quantity, price=price, product_name=money_pb2.LocalizedText(original=name)
    )
    item.item_type.preset = catalog_pb2.ITEM_TYPE_PRESET_SERVICE
    return item


@SQLITE_ONLY
async def test_staff_create_for_buyers_with_custom_lines_and_merchant_discounts(
    suite: Suite,
) -> None:
    await suite.products(product("tee", "20.00"), stock={})
    admin = suite.admin()
    info = checkout_pb2.Checkout(
        buyer_info=buyer_pb2.BuyerInfo(member_id="member-7", email="m@example.com"),
        merchant_discounts=[pricing_pb2.MerchantDiscountInput(amount="5", description="Sorry")],
        override_checkout_url="https://pos.example/pay",
    )
    checkout = await suite.create(
        [line("tee", 2)],
        metadata=admin,
        info=info,
        custom_line_items=[custom("Alterations", "12.50")],
    )
    assert checkout.buyer_info.member_id == "member-7"
    assert checkout.created_by.user_id == "admin-1"
    assert [i.custom_line_item for i in checkout.line_items] == [False, True]
    assert checkout.line_items[1].availability.status == catalog_pb2.AVAILABILITY_STATUS_AVAILABLE
    # subtotal 40.00 + 12.50; merchant discount 5 spread over both lines.
    assert checkout.price_summary.subtotal.amount == "52.50"
    assert checkout.price_summary.discount.amount == "5.00"
    assert checkout.applied_discounts[0].merchant_discount.amount.amount == "5.00"
    url = await suite.checkout.GetCheckoutUrl(
        pb.GetCheckoutUrlRequest(id=checkout.id), metadata=suite.auth_member("member-7")
    )
    assert url.checkout_url == "https://pos.example/pay"
    # Only staff remove the override; then the site's page is the URL.
    code, *_ = await failure(
        suite.checkout.RemoveOverrideCheckoutUrl(
            pb.RemoveOverrideCheckoutUrlRequest(id=checkout.id),
            metadata=suite.auth_member("member-7"),
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    removed = await suite.checkout.RemoveOverrideCheckoutUrl(
        pb.RemoveOverrideCheckoutUrlRequest(id=checkout.id), metadata=admin
    )
    assert removed.checkout.revision == checkout.revision + 1
    url = await suite.checkout.GetCheckoutUrl(
        pb.GetCheckoutUrlRequest(id=checkout.id), metadata=admin
    )
    assert url.checkout_url == URL_TEMPLATE.replace("{checkout_id}", checkout.id)
    again = await suite.checkout.RemoveOverrideCheckoutUrl(
        pb.RemoveOverrideCheckoutUrlRequest(id=checkout.id), metadata=admin
    )
    assert again.checkout.revision == removed.checkout.revision  # nothing to remove


@SQLITE_ONLY
async def test_updates_follow_the_mask_and_the_rules(suite: Suite) -> None:
    await suite.products(product("tee", "20.00"), stock={})
    visitor = suite.visitor()
    checkout = await suite.create(
        [line("tee")],
        info=checkout_pb2.Checkout(buyer_info=buyer_pb2.BuyerInfo(email="a@example.com")),
    )
    update = suite.checkout.UpdateCheckout
    changed = (
        await update(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(
                    id=checkout.id,
                    revision=checkout.revision,
                    buyer_note="Leave at the door",
                    billing_info=address(),
                    buyer_language="de",
                ),
                update_mask=mask("buyer_note", "billing_info.address"),
            ),
            metadata=visitor,
        )
    ).checkout
    assert changed.buyer_note == "Leave at the door"
    assert changed.billing_info.address.country == "US"
    assert not changed.billing_info.HasField("contact_details")  # not in the mask
    assert changed.buyer_language == ""
    assert changed.revision == checkout.revision + 1
    # Stale revision.
    code, reason, metadata, _ = await failure(
        update(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=checkout.id, revision=1, buyer_note="x"),
                update_mask=mask("buyer_note"),
            ),
            metadata=visitor,
        )
    )
    assert (code, reason, metadata["current_revision"]) == (
        grpc.StatusCode.ABORTED,
        "REVISION_MISMATCH",
        str(changed.revision),
    )
    # The email cannot be removed once set.
    code, reason, _, fields = await failure(
        update(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=checkout.id), update_mask=mask("buyer_info.email")
            ),
            metadata=visitor,
        )
    )
    assert (code, reason, fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "BUYER_EMAIL_CANNOT_BE_REMOVED",
        {"checkout.buyer_info.email"},
    )
    code, _, _, fields = await failure(
        update(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=checkout.id), update_mask=mask("line_items")
            ),
            metadata=visitor,
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"update_mask"})
    code, *_ = await failure(
        update(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(
                    id=checkout.id, override_checkout_url="https://x.y/"
                ),
                update_mask=mask("override_checkout_url"),
            ),
            metadata=visitor,
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    code, *_ = await failure(
        update(
            pb.UpdateCheckoutRequest(checkout=checkout_pb2.Checkout(id=checkout.id)),
            metadata=suite.visitor("intruder"),
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    # A request that changes nothing writes nothing.
    events_before = await suite.events(entity_id=checkout.id)
    same = (
        await update(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=checkout.id, buyer_note="Leave at the door"),
                update_mask=mask("buyer_note"),
            ),
            metadata=visitor,
        )
    ).checkout
    assert same.revision == changed.revision
    assert await suite.events(entity_id=checkout.id) == events_before
    code, reason, _, _ = await failure(
        suite.checkout.GetCheckout(
            pb.GetCheckoutRequest(id="00000000-0000-4000-8000-000000000000"), metadata=visitor
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CHECKOUT_NOT_FOUND")
    code, *_ = await failure(
        suite.checkout.GetCheckout(pb.GetCheckoutRequest(id="nope"), metadata=visitor)
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT


@SQLITE_ONLY
async def test_coupons_and_gift_cards_are_reported_honestly(suite: Suite) -> None:
    await suite.products(product("tee", "20.00", shippable=False), stock={})
    visitor = suite.visitor()
    checkout = await suite.create([line("tee")])
    updated = (
        await suite.checkout.UpdateCheckout(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=checkout.id),
                coupon_code="SUMMER10",
                gift_card_code="GIFT-0000-1234",
            ),
            metadata=visitor,
        )
    ).checkout
    errors = updated.calculation_errors
    # The discounts service (served beside the checkout) knows no coupon SUMMER10 on this site.
    assert errors.coupon_calculation_error.code == "COUPON_NOT_FOUND"
    assert "does not exist" in errors.coupon_calculation_error.description
    assert not errors.HasField("discounts_calculation_error")
    assert errors.gift_card_calculation_error.code == "GIFT_CARD_NOT_FOUND"
    coupon = updated.applied_discounts[0].coupon
    assert (coupon.code, coupon.amount.amount) == ("SUMMER10", "0.00")
    assert updated.gift_card.code == "GIFT-0000-1234"
    assert updated.gift_card.obfuscated_code == "****-****-1234"
    assert updated.gift_card.amount.amount == "0.00"
    assert updated.price_summary.total.amount == "20.00"
    cleared = (
        await suite.checkout.RemoveCoupon(pb.RemoveCouponRequest(id=checkout.id), metadata=visitor)
    ).checkout
    assert not cleared.applied_discounts
    assert not cleared.calculation_errors.HasField("coupon_calculation_error")
    cleared = (
        await suite.checkout.RemoveGiftCard(
            pb.RemoveGiftCardRequest(id=checkout.id), metadata=visitor
        )
    ).checkout
    assert not cleared.HasField("gift_card") and not cleared.HasField("calculation_errors")
    again = (
        await suite.checkout.RemoveGiftCard(
            pb.RemoveGiftCardRequest(id=checkout.id), metadata=visitor
        )
    ).checkout
    assert again.revision == cleared.revision


async def test_line_operations_are_atomic_and_idempotent(suite: Suite) -> None:
    await suite.products(*(product(f"p{i}", "1.00") for i in range(10)), stock={})
    visitor = suite.visitor()
    checkout = await suite.create([line("p0")])
    channels = [grpc.aio.insecure_channel(suite.running.address) for _ in range(9)]
    try:
        from ecom.checkout.v1 import checkout_service_pb2_grpc

        await asyncio.gather(
            *(
                checkout_service_pb2_grpc.CheckoutServiceStub(channel).AddToCheckout(
                    pb.AddToCheckoutRequest(id=checkout.id, line_items=[line(f"p{i + 1}")]),
                    metadata=visitor,
                )
                for i, channel in enumerate(channels)
            )
        )
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    current = (
        await suite.checkout.GetCheckout(pb.GetCheckoutRequest(id=checkout.id), metadata=visitor)
    ).checkout
    assert sorted(i.catalog_reference.catalog_item_id for i in current.line_items) == [
        f"p{i}" for i in range(10)
    ]
    assert current.revision == 10  # one write per add
    assert current.price_summary.subtotal.amount == "10.00"

    request_id = "7e8f64bb-2c79-4a55-9f26-8a3cf2f5d8aa"
    add = pb.AddToCheckoutRequest(id=checkout.id, line_items=[line("p0", 2)], request_id=request_id)
    first = (await suite.checkout.AddToCheckout(add, metadata=visitor)).checkout
    retry = (await suite.checkout.AddToCheckout(add, metadata=visitor)).checkout
    assert retry == first
    assert first.line_items[0].quantity == 3
    other = pb.AddToCheckoutRequest(id=checkout.id, line_items=[line("p1")], request_id=request_id)
    code, reason, _, _ = await failure(suite.checkout.AddToCheckout(other, metadata=visitor))
    assert (code, reason) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")

    removed = (
        await suite.checkout.RemoveLineItems(
            pb.RemoveLineItemsRequest(id=checkout.id, line_item_ids=[first.line_items[0].id]),
            metadata=visitor,
        )
    ).checkout
    assert len(removed.line_items) == 9
    repeat = (
        await suite.checkout.RemoveLineItems(
            pb.RemoveLineItemsRequest(id=checkout.id, line_item_ids=[first.line_items[0].id]),
            metadata=visitor,
        )
    ).checkout
    assert repeat.revision == removed.revision
    code, reason, metadata, _ = await failure(
        suite.checkout.UpdateLineItemsQuantity(
            pb.UpdateLineItemsQuantityRequest(
                id=checkout.id,
                line_items=[
                    line_item_pb2.LineItemQuantityUpdate(id=removed.line_items[0].id, quantity=4),
                    line_item_pb2.LineItemQuantityUpdate(id="gone", quantity=1),
                ],
            ),
            metadata=visitor,
        )
    )
    assert (reason, metadata) == ("LINE_ITEM_NOT_FOUND", {"line_item_id": "gone"})
    unchanged = (
        await suite.checkout.GetCheckout(pb.GetCheckoutRequest(id=checkout.id), metadata=visitor)
    ).checkout
    assert unchanged.line_items[0].quantity == 1  # all or nothing


@SQLITE_ONLY
async def test_completion_freezes_the_checkout(suite: Suite) -> None:
    await suite.products(product("tee", "20.00"), stock={})
    checkout = await suite.create([line("tee")])
    code, *_ = await failure(
        suite.checkout.MarkCheckoutAsCompleted(
            pb.MarkCheckoutAsCompletedRequest(id=checkout.id), metadata=suite.visitor()
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    completed = (
        await suite.checkout.MarkCheckoutAsCompleted(
            pb.MarkCheckoutAsCompletedRequest(id=checkout.id), metadata=suite.admin()
        )
    ).checkout
    assert completed.completed and not completed.order_id
    again = (
        await suite.checkout.MarkCheckoutAsCompleted(
            pb.MarkCheckoutAsCompletedRequest(id=checkout.id, revision=1), metadata=suite.admin()
        )
    ).checkout
    assert again == completed
    assert await suite.events("ecom.checkout.v1.checkout_completed") == [
        "ecom.checkout.v1.checkout_completed"
    ]
    code, reason, _, _ = await failure(
        suite.checkout.AddToCheckout(
            pb.AddToCheckoutRequest(id=checkout.id, line_items=[line("tee")]),
            metadata=suite.visitor(),
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CHECKOUT_ALREADY_COMPLETED")
    url = await suite.checkout.GetCheckoutUrl(
        pb.GetCheckoutUrlRequest(id=checkout.id), metadata=suite.visitor()
    )
    assert checkout.id in url.checkout_url


async def test_a_cart_has_one_checkout_however_often_it_is_asked(suite: Suite) -> None:
    await suite.products(product("tee", "20.00"), product("mug", "8.00"), stock={})
    buyer = suite.visitor("visitor-9")
    await suite.current_cart.AddToCurrentCart(
        current_cart_service_pb2.AddToCurrentCartRequest(line_items=[line("tee")]),
        metadata=buyer,
    )
    cart = (
        await suite.current_cart.GetCurrentCart(
            current_cart_service_pb2.GetCurrentCartRequest(), metadata=buyer
        )
    ).cart
    request = pb.CreateCheckoutRequest(cart_id=cart.id, channel_type=channel_pb2.CHANNEL_TYPE_WEB)
    channels = [grpc.aio.insecure_channel(suite.running.address) for _ in range(5)]
    try:
        from ecom.checkout.v1 import checkout_service_pb2_grpc

        results = await asyncio.gather(
            *(
                checkout_service_pb2_grpc.CheckoutServiceStub(c).CreateCheckout(
                    request, metadata=buyer
                )
                for c in channels
            )
        )
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    assert len({r.checkout.id for r in results}) == 1
    checkout = results[0].checkout
    assert checkout.cart_id == cart.id and checkout.buyer_info.visitor_id == "visitor-9"
    assert checkout.line_items[0].id == cart.line_items[0].id
    # The cart changes; asking again updates the same checkout with the cart's lines.
    await suite.current_cart.AddToCurrentCart(
        current_cart_service_pb2.AddToCurrentCartRequest(line_items=[line("mug", 2)]),
        metadata=buyer,
    )
    refreshed = (await suite.checkout.CreateCheckout(request, metadata=buyer)).checkout
    assert refreshed.id == checkout.id
    assert [i.catalog_reference.catalog_item_id for i in refreshed.line_items] == ["tee", "mug"]
    assert (await suite.events(entity_id=checkout.id))[0] == "ecom.checkout.v1.checkout_created"
    # Somebody else's cart.
    code, *_ = await failure(
        suite.checkout.CreateCheckout(request, metadata=suite.visitor("stranger"))
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    code, reason, _, _ = await failure(
        suite.checkout.CreateCheckout(
            pb.CreateCheckoutRequest(
                cart_id="00000000-0000-4000-8000-000000000000",
                channel_type=channel_pb2.CHANNEL_TYPE_WEB,
            ),
            metadata=buyer,
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CART_NOT_FOUND")


@SQLITE_ONLY
async def test_without_a_url_template_the_url_is_not_configured(start_suite: StartSuite) -> None:
    suite = await start_suite(CHECKOUT_URL_TEMPLATE="")
    await suite.products(product("tee", "20.00"), stock={})
    checkout = await suite.create([line("tee")])
    code, reason, _, _ = await failure(
        suite.checkout.GetCheckoutUrl(
            pb.GetCheckoutUrlRequest(id=checkout.id), metadata=suite.visitor()
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CHECKOUT_URL_NOT_CONFIGURED")

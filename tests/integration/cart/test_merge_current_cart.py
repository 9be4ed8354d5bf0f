"""MergeCurrentCart: a visitor signs in and their cart joins the member's, under the documented
rule (equal lines add up, capped at 100000; others are appended while there is room; the
member's coupon and note win), the visitor mapping is dropped, and retries are harmless."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
import redis.asyncio as aioredis

from ecom.cart.v1 import cart_pb2
from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.cart.v1 import current_cart_service_pb2 as current_pb
from services.platform.identity import Role, TokenService
from services.platform.providers import Kind
from tests.integration.cart.conftest import DEMO_ITEMS, StartSuite, Suite
from tests.integration.cart.kit import CatalogProvider, error_info, item, line

pytestmark = pytest.mark.integration


async def _add(suite: Suite, who: tuple[tuple[str, str], ...], *lines: object) -> cart_pb2.Cart:
    reply: current_pb.AddToCurrentCartResponse = await suite.current.AddToCurrentCart(
        current_pb.AddToCurrentCartRequest(line_items=lines),  # type: ignore[arg-type]
        metadata=who,
    )
    return reply.cart


async def _merge(
    suite: Suite, member: str, visitor_token: str
) -> current_pb.MergeCurrentCartResponse:
    response: current_pb.MergeCurrentCartResponse = await suite.current.MergeCurrentCart(
        current_pb.MergeCurrentCartRequest(visitor_token=visitor_token),
        metadata=suite.auth(Role.MEMBER, member),
    )
    return response


async def test_visitor_and_member_carts_merge_under_the_documented_rule(
    suite: Suite, catalog: CatalogProvider
) -> None:
    visitor_token = suite.token(Role.VISITOR, "v-1")
    visitor = (("authorization", f"Bearer {visitor_token}"),)
    member = suite.auth(Role.MEMBER, "m-1")
    member_cart = await _add(suite, member, line("tee", 99_998), line("mug", 1))
    note = current_pb.UpdateCurrentCartRequest(cart=cart_pb2.Cart(buyer_note="member note"))
    note.update_mask.paths.append("buyer_note")
    await suite.current.UpdateCurrentCart(note, metadata=member)
    visitor_cart = await _add(suite, visitor, line("tee", 5), line("ebook", 2), line("pin", 3))
    coupon = current_pb.UpdateCurrentCartRequest(coupon_code="WELCOME")
    await suite.current.UpdateCurrentCart(coupon, metadata=visitor)

    merged = await _merge(suite, "m-1", visitor_token)
    cart = merged.cart
    assert cart.id == member_cart.id
    assert [(li.catalog_reference.catalog_item_id, li.quantity) for li in cart.line_items] == [
        ("tee", 100_000),  # 99998 + 5, capped; the excess is dropped
        ("mug", 1),
        ("ebook", 2),
        ("pin", 3),
    ]
    # Appended lines keep their ids; the member's note wins, the visitor's coupon is taken.
    visitor_ids = {li.catalog_reference.catalog_item_id: li.id for li in visitor_cart.line_items}
    assert cart.line_items[2].id == visitor_ids["ebook"]
    assert cart.buyer_note == "member note"
    assert [d.coupon.code for d in cart.applied_discounts if d.HasField("coupon")] == ["WELCOME"]
    assert not merged.skipped_line_items

    # The visitor cart is gone and the visitor token reaches nothing any more.
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=visitor)
    assert error_info(gone.value)[0] == "OWNED_CART_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as deleted:
        await suite.cart.GetCart(cart_pb.GetCartRequest(id=visitor_cart.id), metadata=visitor)
    assert deleted.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=visitor)
    assert not_theirs.value.code() is grpc.StatusCode.PERMISSION_DENIED

    # A retry finds no visitor cart and returns the member cart unchanged.
    retry = await _merge(suite, "m-1", visitor_token)
    assert retry.cart.revision == cart.revision and retry.cart.id == cart.id


async def test_a_visitor_cart_alone_becomes_the_members(
    suite: Suite, catalog: CatalogProvider
) -> None:
    visitor_token = suite.token(Role.VISITOR, "v-2")
    visitor_cart = await _add(
        suite, (("authorization", f"Bearer {visitor_token}"),), line("tee", 2)
    )
    # Two concurrent merges (a double click): one takes the cart over, both answer with it.
    first, second = await asyncio.gather(
        _merge(suite, "m-2", visitor_token), _merge(suite, "m-2", visitor_token)
    )
    for reply in (first, second):
        assert reply.cart.id == visitor_cart.id
        assert reply.cart.buyer_info.member_id == "m-2"
        assert not reply.cart.buyer_info.visitor_id
    mine = await suite.current.GetCurrentCart(
        current_pb.GetCurrentCartRequest(), metadata=suite.auth(Role.MEMBER, "m-2")
    )
    assert mine.cart.id == visitor_cart.id and mine.cart.revision == 2


async def test_lines_beyond_300_are_returned_as_skipped(suite: Suite) -> None:
    items = {**DEMO_ITEMS, **{f"i{n}": item(f"I{n}", "1.00") for n in range(300)}}
    await suite.provide(Kind.CATALOG, "shop", CatalogProvider(items))
    visitor_token = suite.token(Role.VISITOR, "v-3")
    member = suite.auth(Role.MEMBER, "m-3")
    await _add(suite, member, *[line(f"i{n}") for n in range(299)])
    await _add(
        suite,
        (("authorization", f"Bearer {visitor_token}"),),
        line("i0", 4),
        line("tee"),
        line("mug"),
    )
    merged = await _merge(suite, "m-3", visitor_token)
    assert len(merged.cart.line_items) == 300
    assert merged.cart.line_items[0].quantity == 5
    assert merged.cart.line_items[-1].catalog_reference.catalog_item_id == "tee"
    assert [li.catalog_reference.catalog_item_id for li in merged.skipped_line_items] == ["mug"]


async def test_merge_refusals(suite: Suite, catalog: CatalogProvider) -> None:
    member = "m-4"
    visitor_token = suite.token(Role.VISITOR, "v-4")
    with pytest.raises(grpc.aio.AioRpcError) as neither:
        await _merge(suite, member, visitor_token)
    assert error_info(neither.value)[0] == "OWNED_CART_NOT_FOUND"
    bad_tokens = {
        "garbage": "not-a-jwt",
        "member token": suite.token(Role.MEMBER, "v-4"),
        "other site": suite.token(Role.VISITOR, "v-4", site=f"elsewhere-{uuid.uuid4().hex[:6]}"),
        "other secret": TokenService("another-secret-another-secret-0123").mint(
            role=Role.VISITOR, site=suite.site, subject="v-4"
        ),
    }
    for case, token in bad_tokens.items():
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _merge(suite, member, token)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED, case
        assert error_info(refused.value)[0] == "VISITOR_TOKEN_INVALID", case
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await _merge(suite, member, "")
    assert empty.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as as_visitor:
        await suite.current.MergeCurrentCart(
            current_pb.MergeCurrentCartRequest(visitor_token=visitor_token),
            metadata=suite.visitor(),
        )
    assert as_visitor.value.code() is grpc.StatusCode.PERMISSION_DENIED
    for staff in (suite.admin(), suite.auth(Role.SERVICE, "svc")):
        with pytest.raises(grpc.aio.AioRpcError) as no_current:
            await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=staff)
        assert no_current.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_the_session_ttl_is_configurable_and_refreshed_by_use(
    start_suite: StartSuite, stack: dict[str, str]
) -> None:
    if "ECOM_REDIS_URL" not in stack:
        pytest.skip("the in-process store's TTL is covered by the session store contract suite")
    suite = await start_suite(ECOM_CART_SESSION_TTL_S="120")
    await suite.provide(Kind.CATALOG, "shop", CatalogProvider(DEMO_ITEMS))
    me = suite.auth(Role.VISITOR, "v-ttl")
    await _add(suite, me, line("tee"))
    client = aioredis.Redis.from_url(stack["ECOM_REDIS_URL"])
    key = f"{stack['ECOM_KEY_PREFIX']}cart-session:{suite.site}:visitor:v-ttl"
    try:
        assert 100_000 < await client.pttl(key) <= 120_000
        await client.pexpire(key, 5_000)
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=me)
        assert await client.pttl(key) > 100_000
    finally:
        await client.aclose()

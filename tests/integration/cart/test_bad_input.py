"""Bad input gets INVALID_ARGUMENT / FAILED_PRECONDITION / ABORTED with a field violation or a
reason, never INTERNAL, and leaves the cart exactly as it was."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from ecom.cart.v1 import cart_pb2
from ecom.cart.v1 import cart_service_pb2 as cart_pb
from ecom.cart.v1 import current_cart_service_pb2 as current_pb
from ecom.common.v1 import line_item_pb2
from services.platform.providers import Kind
from tests.integration.cart.conftest import Suite
from tests.integration.cart.kit import CatalogProvider, error_info, item, line

pytestmark = pytest.mark.integration


async def _refused(
    call: Awaitable[object],
) -> tuple[grpc.StatusCode, str, dict[str, str], set[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call
    reason, metadata, fields = error_info(failed.value)
    return failed.value.code(), reason, metadata, fields


def _no_kind_options() -> line_item_pb2.LineItem:
    bad = line("tee")
    bad.catalog_reference.options.fields["size"].CopyFrom(struct_pb2.Value())  # no kind set
    return bad


def _nan_options() -> line_item_pb2.LineItem:
    bad = line("tee")
    bad.catalog_reference.options.fields["size"].number_value = float("nan")
    return bad


def _deep_options() -> line_item_pb2.LineItem:
    bad = line("tee")
    nested: dict[str, Any] = {"leaf": 1}
    for _ in range(12):
        nested = {"n": nested}
    bad.catalog_reference.options.update(nested)
    return bad


BAD_LINES: list[tuple[str, line_item_pb2.LineItem, str]] = [
    ("quantity 0", line("tee", 0), "line_items[0].quantity"),
    ("quantity -1", line("tee", -1), "line_items[0].quantity"),
    ("quantity 10^9", line("tee", 10**9), "line_items[0].quantity"),
    ("empty item id", line(""), "line_items[0].catalog_reference.catalog_item_id"),
    ("empty app id", line("tee", app_id=""), "line_items[0].catalog_reference.app_id"),
    ("1 MB item id", line("x" * 1_000_000), "line_items[0].catalog_reference.catalog_item_id"),
    ("value without kind", _no_kind_options(), "line_items[0].catalog_reference.options"),
    ("NaN option", _nan_options(), "line_items[0].catalog_reference.options"),
    ("options nested too deep", _deep_options(), "line_items[0].catalog_reference.options"),
    (
        "options over 8 KiB",
        line("tee", note="y" * 9000),
        "line_items[0].catalog_reference.options",
    ),
]


async def test_bad_lines_are_invalid_arguments_and_change_nothing(
    suite: Suite, catalog: CatalogProvider
) -> None:
    me = suite.visitor()
    before = (
        await suite.current.AddToCurrentCart(
            current_pb.AddToCurrentCartRequest(line_items=[line("mug")]), metadata=me
        )
    ).cart
    for case, bad, field in BAD_LINES:
        code, _, _, fields = await _refused(
            suite.cart.AddToCart(
                cart_pb.AddToCartRequest(id=before.id, line_items=[bad]), metadata=me
            )
        )
        assert code is grpc.StatusCode.INVALID_ARGUMENT, case
        assert field in fields, case
        code, _, _, fields = await _refused(
            suite.current.AddToCurrentCart(
                current_pb.AddToCurrentCartRequest(line_items=[line("ebook"), bad]), metadata=me
            )
        )
        assert code is grpc.StatusCode.INVALID_ARGUMENT, case
        assert field.replace("[0]", "[1]") in fields, case
    after = (
        await suite.current.GetCurrentCart(current_pb.GetCurrentCartRequest(), metadata=me)
    ).cart
    assert after == before


async def test_refusals_with_reasons_change_nothing(suite: Suite, catalog: CatalogProvider) -> None:
    me = suite.member()
    cart = (
        await suite.cart.CreateCart(
            cart_pb.CreateCartRequest(line_items=[line("tee", 99_999)]), metadata=me
        )
    ).cart

    async def refused(
        request: cart_pb.AddToCartRequest,
    ) -> tuple[grpc.StatusCode, str, dict[str, str]]:
        code, reason, metadata, _ = await _refused(suite.cart.AddToCart(request, metadata=me))
        return code, reason, metadata

    assert await refused(
        cart_pb.AddToCartRequest(id=cart.id, line_items=[line("mug"), line("tee", app_id="nope")])
    ) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CATALOG_PROVIDER_NOT_FOUND",
        {"app_id": "nope"},
    )
    assert await refused(
        cart_pb.AddToCartRequest(id=cart.id, line_items=[line("mug"), line("unicorn")])
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "CATALOG_ITEM_NOT_FOUND", {"line_item_index": "1"})
    assert await refused(
        cart_pb.AddToCartRequest(id=cart.id, line_items=[line("mug"), line("tee", 2)])
    ) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "LINE_ITEM_QUANTITY_LIMIT_EXCEEDED",
        {"line_item_index": "1"},
    )
    code, reason, metadata = await refused(
        cart_pb.AddToCartRequest(id=cart.id, line_items=[line("mug")], revision=cart.revision + 7)
    )
    assert (code, reason, metadata["current_revision"]) == (
        grpc.StatusCode.ABORTED,
        "REVISION_MISMATCH",
        str(cart.revision),
    )
    code, reason, _ = await refused(cart_pb.AddToCartRequest(id=cart.id))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    code, reason, _ = await refused(
        cart_pb.AddToCartRequest(id="no-such-cart", line_items=[line("mug")])
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CART_NOT_FOUND")
    after = (await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=me)).cart
    assert after == cart

    # Equal lines within one request add up before the limit is checked.
    code, reason, metadata, _ = await _refused(
        suite.cart.CreateCart(
            cart_pb.CreateCartRequest(line_items=[line("mug", 60_000), line("mug", 40_001)]),
            metadata=me,
        )
    )
    assert (code, reason, metadata) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "LINE_ITEM_QUANTITY_LIMIT_EXCEEDED",
        {"line_item_index": "1"},
    )


async def test_the_cart_holds_at_most_300_lines(suite: Suite) -> None:
    names = [f"i{n}" for n in range(301)]
    provider = CatalogProvider({name: item(name, "1.00") for name in names})
    await suite.provide(Kind.CATALOG, "shop", provider)
    me = suite.member()
    cart = (
        await suite.cart.CreateCart(
            cart_pb.CreateCartRequest(line_items=[line(n) for n in names[:300]]), metadata=me
        )
    ).cart
    assert len(cart.line_items) == 300
    code, reason, _, _ = await _refused(
        suite.cart.AddToCart(
            cart_pb.AddToCartRequest(id=cart.id, line_items=[line("i300")]), metadata=me
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LINE_ITEMS_LIMIT_EXCEEDED")
    # An existing line can still grow.
    grown = await suite.cart.AddToCart(
        cart_pb.AddToCartRequest(id=cart.id, line_items=[line("i0", 4)]), metadata=me
    )
    assert grown.cart.line_items[0].quantity == 5
    code, _, _, fields = await _refused(
        suite.cart.CreateCart(
            cart_pb.CreateCartRequest(line_items=[line(n) for n in names]), metadata=me
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "line_items" in fields


async def test_admin_only_fields_and_field_checks(suite: Suite, catalog: CatalogProvider) -> None:
    me = suite.visitor()
    code, _, _, _ = await _refused(
        suite.cart.CreateCart(
            cart_pb.CreateCartRequest(
                cart_info=cart_pb2.Cart(override_checkout_url="https://evil.example/")
            ),
            metadata=me,
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    cart = (await suite.cart.CreateCart(cart_pb.CreateCartRequest(), metadata=me)).cart
    update = cart_pb.UpdateCartRequest(cart=cart_pb2.Cart(id=cart.id, override_checkout_url="x"))
    update.update_mask.paths.append("override_checkout_url")
    code, _, _, _ = await _refused(suite.cart.UpdateCart(update, metadata=me))
    assert code is grpc.StatusCode.PERMISSION_DENIED
    bad = cart_pb.UpdateCartRequest(
        cart=cart_pb2.Cart(
            id=cart.id,
            buyer_note="n" * 1001,
            buyer_language="English",
            conversion_currency="EUR",
        )
    )
    bad.cart.buyer_info.email = "not-an-email"
    bad.update_mask.paths.extend(
        ["buyer_note", "buyer_info.email", "buyer_language", "conversion_currency", "line_items"]
    )
    code, _, _, fields = await _refused(suite.cart.UpdateCart(bad, metadata=me))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert {
        "cart.buyer_note",
        "cart.buyer_info.email",
        "cart.buyer_language",
        "cart.conversion_currency",  # the site supports no conversion currency
        "update_mask.paths[4]",
    } <= fields
    nothing = cart_pb.UpdateCartRequest(cart=cart_pb2.Cart(id=cart.id))
    code, _, _, fields = await _refused(suite.cart.UpdateCart(nothing, metadata=me))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "update_mask" in fields
    after = (await suite.cart.GetCart(cart_pb.GetCartRequest(id=cart.id), metadata=me)).cart
    assert after.revision == 1
    for code in (
        (await _refused(suite.cart.GetCart(cart_pb.GetCartRequest(), metadata=me)))[0],
        (
            await _refused(
                suite.cart.EstimateTotals(
                    cart_pb.EstimateTotalsRequest(
                        id=cart.id,
                        shipping_address={"country": "usa"},  # type: ignore[arg-type]
                    ),
                    metadata=me,
                )
            )
        )[0],
    ):
        assert code is grpc.StatusCode.INVALID_ARGUMENT

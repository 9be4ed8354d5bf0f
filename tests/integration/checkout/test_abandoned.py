"""Abandoned checkouts over real gRPC: the sweeper (idle time shortened to 1 s), recovery on
completion, exactly once with two sweepers, queries, and recovery links."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.checkout.v1 import (
    abandoned_checkout_pb2,
    abandoned_checkout_service_pb2,
    checkout_pb2,
    checkout_service_pb2,
)
from ecom.common.v1 import buyer_pb2, query_pb2
from services.checkout import MODULE as CHECKOUT
from services.platform.identity import Role
from services.platform.runtime import Runtime
from services.platform.server import start_server
from tests.helpers import eventually
from tests.integration.checkout.conftest import SQLITE_ONLY, StartSuite, Suite, product
from tests.integration.checkout.kit import address, error_info, line

pytestmark = pytest.mark.integration
pb = checkout_service_pb2
apb = abandoned_checkout_service_pb2
ABANDONED = abandoned_checkout_pb2.ABANDONED_CHECKOUT_STATUS_ABANDONED
RECOVERED = abandoned_checkout_pb2.ABANDONED_CHECKOUT_STATUS_RECOVERED
CREATED = "ecom.checkout.v1.abandoned_checkout_created"
RECOVERED_EVENT = "ecom.checkout.v1.abandoned_checkout_recovered"


def with_email(email: str) -> checkout_pb2.Checkout:
    info = checkout_pb2.Checkout(
        buyer_info=buyer_pb2.BuyerInfo(email=email), billing_info=address()
    )
    return info


async def records(suite: Suite, **filters: Any) -> list[abandoned_checkout_pb2.AbandonedCheckout]:
    response = await suite.abandoned.QueryAbandonedCheckouts(
        apb.QueryAbandonedCheckoutsRequest(filter=apb.AbandonedCheckoutFilter(**filters)),
        metadata=suite.admin(),
    )
    return list(response.abandoned_checkouts)


async def wait_abandoned(suite: Suite, *checkout_ids: str) -> None:
    async def found() -> bool:
        return len(await records(suite, checkout_ids=list(checkout_ids))) == len(checkout_ids)

    await eventually(found, timeout_s=15, interval_s=0.1)


async def test_idle_checkouts_are_abandoned_once_and_recovered_on_completion(
    start_suite: StartSuite,
) -> None:
    suite = await start_suite(ECOM_ABANDONED_AFTER_S="1")
    # A second checkout process on the same database: its sweeper competes for the lease.
    other = await start_server(Runtime(suite.runtime.config), [CHECKOUT])
    try:
        await suite.products(product("book", "15.00", shippable=False), stock={})
        left = await suite.create([line("book", 2)], info=with_email("Ada@Example.com"))
        no_email = await suite.create([line("book")], metadata=suite.visitor("v-2"))
        await wait_abandoned(suite, left.id)
        [record] = await records(suite, checkout_ids=[left.id])
        assert record.status == ABANDONED
        assert record.buyer_info.email == "Ada@Example.com"
        assert record.contact_details.first_name == "Ada"
        assert record.total_price.amount == left.price_summary.total.amount == "32.66"
        assert record.subtotal_price.amount == "30.00"
        assert record.checkout_url.endswith(left.id)
        assert not record.HasField("checkout_recovered_date")
        assert await records(suite, checkout_ids=[no_email.id]) == []

        # Later changes are copied, without an event.
        await suite.checkout.UpdateCheckout(
            pb.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(
                    id=left.id, buyer_info=buyer_pb2.BuyerInfo(email="ada@new.example")
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["buyer_info.email"]),
            ),
            metadata=suite.visitor(),
        )
        [record] = await records(suite, checkout_ids=[left.id])
        assert record.buyer_info.email == "ada@new.example"

        placed = await suite.checkout.CreateOrder(
            pb.CreateOrderRequest(id=left.id), metadata=suite.visitor()
        )
        [record] = await records(suite, checkout_ids=[left.id])
        assert record.status == RECOVERED
        assert record.HasField("checkout_recovered_date")
        events = await suite.events(CREATED, RECOVERED_EVENT)
        assert events == [CREATED, RECOVERED_EVENT]
        assert placed.order_id

        # Recovered records no longer change, and are never recorded again.
        await wait_abandoned(suite, left.id)
        assert await suite.events(CREATED, RECOVERED_EVENT) == [CREATED, RECOVERED_EVENT]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await suite.abandoned.GetAbandonedCheckoutRecoveryUrl(
                apb.GetAbandonedCheckoutRecoveryUrlRequest(abandoned_checkout_id=record.id),
                metadata=suite.admin(),
            )
        assert error_info(caught.value)[0] == "ABANDONED_CHECKOUT_RECOVERED"
    finally:
        await other.stop(0)


@SQLITE_ONLY
async def test_queries_links_and_access(start_suite: StartSuite) -> None:
    suite = await start_suite(ECOM_ABANDONED_AFTER_S="1")
    await suite.products(product("book", "10.00", shippable=False), stock={})
    checkouts = [
        await suite.create(
            [line("book", quantity)],
            info=with_email(f"buyer{quantity}@example.com"),
            metadata=suite.visitor(f"v{quantity}"),
        )
        for quantity in (3, 1, 2, 5, 4)
    ]
    member = await suite.create(
        [line("book")],
        info=with_email("member@example.com"),
        metadata=suite.auth_member("m-1"),
    )
    await wait_abandoned(suite, *(c.id for c in [*checkouts, member]))

    by_total = apb.AbandonedCheckoutSort(
        field=apb.ABANDONED_CHECKOUT_SORT_FIELD_TOTAL_PRICE, order=query_pb2.SORT_ORDER_DESC
    )
    seen: list[str] = []
    token = ""
    while True:
        page = await suite.abandoned.QueryAbandonedCheckouts(
            apb.QueryAbandonedCheckoutsRequest(sort=[by_total], page_size=2, page_token=token),
            metadata=suite.admin(),
        )
        seen += [r.total_price.amount for r in page.abandoned_checkouts]
        token = page.next_page_token
        if not token:
            break
    # 10.00 a book plus NY tax 8.875%.
    assert seen == ["54.44", "43.55", "32.66", "21.78", "10.89", "10.89"]

    found = await records(
        suite,
        buyer_emails=["BUYER2@example.com", "buyer4@example.com"],
        statuses=[ABANDONED],
    )
    assert sorted(r.buyer_info.email for r in found) == ["buyer2@example.com", "buyer4@example.com"]
    found = await records(suite, total_price={"min": "21.78", "max": "43.55"})
    assert sorted(r.total_price.amount for r in found) == ["21.78", "32.66", "43.55"]

    first_token = (
        await suite.abandoned.QueryAbandonedCheckouts(
            apb.QueryAbandonedCheckoutsRequest(page_size=1), metadata=suite.admin()
        )
    ).next_page_token
    for bad in (
        apb.QueryAbandonedCheckoutsRequest(page_token="garbage"),
        apb.QueryAbandonedCheckoutsRequest(page_size=-1),
        apb.QueryAbandonedCheckoutsRequest(
            filter=apb.AbandonedCheckoutFilter(
                statuses=[abandoned_checkout_pb2.ABANDONED_CHECKOUT_STATUS_UNSPECIFIED]
            )
        ),
        apb.QueryAbandonedCheckoutsRequest(
            filter=apb.AbandonedCheckoutFilter(total_price=query_pb2.DecimalRange(min="ten"))
        ),
        apb.QueryAbandonedCheckoutsRequest(sort=[by_total, by_total]),
        # A token is bound to the filter and sort it came from.
        apb.QueryAbandonedCheckoutsRequest(sort=[by_total], page_token=first_token),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await suite.abandoned.QueryAbandonedCheckouts(bad, metadata=suite.admin())
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    # Recovery links: a visitor gets a token for their own checkout; a member signs in.
    [record] = await records(suite, checkout_ids=[checkouts[0].id])
    link = (
        await suite.abandoned.GetAbandonedCheckoutRecoveryUrl(
            apb.GetAbandonedCheckoutRecoveryUrlRequest(abandoned_checkout_id=record.id),
            metadata=suite.admin(),
        )
    ).recovery_url
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert query["checkoutId"] == [checkouts[0].id]
    token = query["recoveryToken"][0]
    caller = suite.runtime.tokens.verify(token)
    assert (caller.role, caller.subject, caller.site) == (Role.VISITOR, "v3", suite.site)
    reopened = await suite.checkout.GetCheckout(
        pb.GetCheckoutRequest(id=checkouts[0].id),
        metadata=(("authorization", f"Bearer {token}"),),
    )
    assert reopened.checkout.id == checkouts[0].id
    [member_record] = await records(suite, checkout_ids=[member.id])
    member_link = (
        await suite.abandoned.GetAbandonedCheckoutRecoveryUrl(
            apb.GetAbandonedCheckoutRecoveryUrlRequest(abandoned_checkout_id=member_record.id),
            metadata=suite.admin(),
        )
    ).recovery_url
    assert "recoveryToken" not in member_link

    got = await suite.abandoned.GetAbandonedCheckout(
        apb.GetAbandonedCheckoutRequest(abandoned_checkout_id=record.id), metadata=suite.admin()
    )
    assert got.abandoned_checkout == record
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.abandoned.GetAbandonedCheckout(
            apb.GetAbandonedCheckoutRequest(abandoned_checkout_id=str(uuid.uuid4())),
            metadata=suite.admin(),
        )
    assert error_info(caught.value)[0] == "ABANDONED_CHECKOUT_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await suite.abandoned.GetAbandonedCheckout(
            apb.GetAbandonedCheckoutRequest(abandoned_checkout_id=record.id),
            metadata=suite.visitor("v3"),
        )
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED

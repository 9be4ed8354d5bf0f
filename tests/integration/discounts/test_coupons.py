"""Coupon management over real gRPC: codes unique per site case-insensitively, validation, masks
and revisions, delete and reuse of a code, request ids, and QueryCoupons."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.common.v1 import query_pb2
from ecom.discounts.v1 import coupon_pb2
from tests.integration.discounts.cases import PAST_END, PAST_START, coupon, items
from tests.integration.discounts.kit import Served, coupon_from, cpb, details, gather_all

pytestmark = pytest.mark.asyncio(loop_scope="module")

P = "coupon."


async def _refused(call: Any) -> tuple[grpc.StatusCode, str, dict[str, str], dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return (caught.value.code(), *details(caught.value))


async def _query(served: Served, site: str, **fields: Any) -> list[Any]:
    response = await served.coupons.QueryCoupons(
        cpb.QueryCouponsRequest(**fields), metadata=served.admin(site)
    )
    return list(response.coupons)


async def test_a_coupon_is_stored_as_given(served: Served, site: str) -> None:
    made = await served.create_coupon(
        site,
        coupon_from(
            coupon(
                "Summer10",
                "Summer 10%",
                percentOffRate="10",
                minimumSubtotal="50",
                usageLimit=100,
                scope=items("hat")[0],
            )
        ),
    )
    assert made.id and made.revision == 1 and made.active and not made.expired
    assert (made.code, made.percent_off_rate, made.minimum_subtotal) == ("Summer10", "10", "50")
    assert made.usage_limit == 100 and made.number_of_usages == 0
    assert made.scope.id and made.scope.catalog_item.catalog_item_id == "hat"
    got = await served.coupons.GetCoupon(
        cpb.GetCouponRequest(coupon_id=made.id), metadata=served.admin(site)
    )
    assert got.coupon == made


async def test_codes_are_unique_per_site_whatever_their_case(served: Served, site: str) -> None:
    made = await served.create_coupon(site, coupon_from(coupon("SAVE", moneyOffAmount="5")))
    code, reason, metadata, _ = await _refused(
        served.create_coupon(site, coupon_from(coupon("save", percentOffRate="5")))
    )
    assert (code, reason, metadata) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "COUPON_CODE_ALREADY_EXISTS",
        {"coupon_id": made.id},
    )
    await served.create_coupon(f"{site}-other", coupon_from(coupon("SAVE", moneyOffAmount="5")))
    # Concurrent creates of one code: exactly one wins.
    results = await gather_all(
        *(
            served.create_coupon(
                site, coupon_from(coupon(f"RACE{'e' if i % 2 else 'E'}", freeShipping=True))
            )
            for i in range(6)
        )
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 5
    assert {details(e)[0] for e in lost} == {"COUPON_CODE_ALREADY_EXISTS"}
    # Deleting frees the code.
    await served.coupons.DeleteCoupon(
        cpb.DeleteCouponRequest(coupon_id=made.id), metadata=served.admin(site)
    )
    await served.create_coupon(site, coupon_from(coupon("Save", moneyOffAmount="5")))
    code, reason, _, _ = await _refused(
        served.coupons.DeleteCoupon(
            cpb.DeleteCouponRequest(coupon_id=made.id), metadata=served.admin(site)
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "COUPON_NOT_FOUND")


async def test_bad_coupons_name_every_problem(served: Served, site: str) -> None:
    bad = coupon_pb2.Coupon(
        code="has space",
        percent_off_rate="150",
        minimum_subtotal="-1",
        usage_limit=0,
        id="mine",
    )
    bad.start_time.FromJsonString(PAST_END)
    bad.expiration_time.FromJsonString(PAST_START)
    code, _, _, fields = await _refused(
        served.coupons.CreateCoupon(
            cpb.CreateCouponRequest(coupon=bad), metadata=served.admin(site)
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {
        P + "id",
        P + "code",
        P + "name",
        P + "percent_off_rate",
        P + "minimum_subtotal",
        P + "usage_limit",
        P + "expiration_time",
    }
    for fields_given, path in (
        ({}, P + "discount"),
        ({"freeShipping": False}, P + "free_shipping"),
        ({"moneyOffAmount": "0"}, P + "money_off_amount"),
        ({"fixedPriceAmount": "1e3"}, P + "fixed_price_amount"),
        ({"moneyOffAmount": "5", "code": "X" * 21}, P + "code"),
        (
            {
                "moneyOffAmount": "5",
                "scope": {
                    "type": "SCOPE_TYPE_CATALOG_ITEM",
                    "catalogItem": {"catalogAppId": "no.app"},
                },
            },
            P + "scope.catalog_item.catalog_app_id",
        ),
    ):
        spec = {**coupon("OK"), **fields_given}
        code, _, _, fields = await _refused(served.create_coupon(site, coupon_from(spec)))
        assert (code, set(fields)) == (grpc.StatusCode.INVALID_ARGUMENT, {path})


async def test_updates(served: Served, site: str) -> None:
    made = await served.create_coupon(site, coupon_from(coupon("ONE", moneyOffAmount="5")))
    taken = await served.create_coupon(site, coupon_from(coupon("TWO", moneyOffAmount="5")))

    async def update(changed: coupon_pb2.Coupon, *paths: str) -> Any:
        response = await served.coupons.UpdateCoupon(
            cpb.UpdateCouponRequest(
                coupon=changed, update_mask=field_mask_pb2.FieldMask(paths=list(paths))
            ),
            metadata=served.admin(site),
        )
        return response.coupon

    # Naming one discount field replaces the discount with the one that is set.
    changed = coupon_pb2.Coupon(id=made.id, revision=1, percent_off_rate="20", name="ignored")
    updated = await update(changed, "percent_off_rate")
    assert updated.percent_off_rate == "20" and updated.money_off_amount == ""
    assert updated.name == made.name and updated.revision == 2
    renamed = await update(coupon_pb2.Coupon(id=made.id, revision=2, code="one-b"))
    assert renamed.code == "one-b" and renamed.revision == 3
    code, reason, metadata, _ = await _refused(
        update(coupon_pb2.Coupon(id=made.id, revision=3, code="two"), "code")
    )
    assert (code, reason, metadata) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "COUPON_CODE_ALREADY_EXISTS",
        {"coupon_id": taken.id},
    )
    code, reason, metadata, _ = await _refused(
        update(coupon_pb2.Coupon(id=made.id, revision=1, name="x"), "name")
    )
    assert (code, reason, metadata["current_revision"]) == (
        grpc.StatusCode.ABORTED,
        "REVISION_MISMATCH",
        "3",
    )
    code, _, _, fields = await _refused(
        update(coupon_pb2.Coupon(id=made.id, revision=3), "expired")
    )
    assert (code, set(fields)) == (grpc.StatusCode.INVALID_ARGUMENT, {"update_mask"})
    # Cleared by naming it unset: the coupon is switched off.
    off = await update(coupon_pb2.Coupon(id=made.id, revision=3), "active")
    assert not off.active


async def test_request_ids(served: Served, site: str) -> None:
    request = cpb.CreateCouponRequest(
        coupon=coupon_from(coupon("IDEM", freeShipping=True)),
        request_id="a6a7b0f4-44a4-4c43-8f7b-0d8a5c6e9f21",
    )
    first = await served.coupons.CreateCoupon(request, metadata=served.admin(site))
    again = await served.coupons.CreateCoupon(request, metadata=served.admin(site))
    assert first == again


async def test_query(served: Served, site: str) -> None:
    expired = await served.create_coupon(
        site,
        coupon_from(
            coupon("OLD", "Old", moneyOffAmount="5", startTime=PAST_START, expirationTime=PAST_END)
        ),
    )
    forever = await served.create_coupon(
        site, coupon_from(coupon("FOREVER", "forever", percentOffRate="5"))
    )
    later = await served.create_coupon(
        site,
        coupon_from(
            coupon("LATER", "Later", freeShipping=True, expirationTime="2999-01-01T00:00:00Z")
        ),
    )
    used = await served.create_coupon(
        site, coupon_from(coupon("USED", "used", percentOffRate="5", usageLimit=1))
    )
    from tests.integration.discounts.kit import pb

    await served.rules.RecordDiscountUsage(
        pb.RecordDiscountUsageRequest(order_id="o-1", coupon_code="used"),
        metadata=served.service(site),
    )

    def ids(found: list[Any]) -> list[str]:
        return [c.id for c in found]

    by = cpb.CouponFilter
    assert ids(await _query(served, site, filter=by(code="forever"))) == [forever.id]
    assert ids(await _query(served, site, filter=by(expired=True))) == [expired.id]
    assert set(ids(await _query(served, site, filter=by(expired=False)))) == {
        forever.id,
        later.id,
        used.id,
    }
    assert ids(await _query(served, site, filter=by(usage_limit_reached=True))) == [used.id]
    kinds = [cpb.COUPON_DISCOUNT_KIND_FREE_SHIPPING, cpb.COUPON_DISCOUNT_KIND_MONEY_OFF_AMOUNT]
    assert set(ids(await _query(served, site, filter=by(discount_kinds=kinds)))) == {
        expired.id,
        later.id,
    }
    assert set(ids(await _query(served, site, filter=by(name_prefix="l")))) == {later.id}
    bounded = query_pb2.TimestampRange(end=later.expiration_time)
    assert ids(await _query(served, site, filter=by(expiration_time=bounded))) == [expired.id]
    by_expiry = [cpb.CouponSort(field=cpb.COUPON_SORT_FIELD_EXPIRATION_TIME)]
    found = await _query(served, site, sort=by_expiry)
    # Without an expiration last, in ascending order (then by id).
    assert ids(found)[:2] == [expired.id, later.id]
    assert set(ids(found)[2:]) == {forever.id, used.id}
    pages: list[str] = []
    token = ""
    by_usage = [
        cpb.CouponSort(
            field=cpb.COUPON_SORT_FIELD_NUMBER_OF_USAGES, order=query_pb2.SORT_ORDER_DESC
        ),
        cpb.CouponSort(field=cpb.COUPON_SORT_FIELD_CODE),
    ]
    while True:
        response = await served.coupons.QueryCoupons(
            cpb.QueryCouponsRequest(sort=by_usage, page_size=1, page_token=token),
            metadata=served.admin(site),
        )
        pages.extend(c.code for c in response.coupons)
        token = response.next_page_token
        if not token:
            break
    assert pages == ["USED", "FOREVER", "LATER", "OLD"]

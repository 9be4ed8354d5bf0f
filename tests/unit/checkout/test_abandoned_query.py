"""QueryAbandonedCheckouts' rules: the decimal sort key, request checks, and page tokens."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecom.checkout.v1 import abandoned_checkout_pb2
from ecom.checkout.v1 import abandoned_checkout_service_pb2 as apb
from ecom.common.v1 import query_pb2
from services.checkout.abandoned import encode_token, parse_query, total_key
from services.platform.errors import InvalidArgument

amounts = st.decimals(min_value=0, max_value=Decimal("1e17"), places=4)


@given(amounts, amounts)
def test_total_keys_sort_like_the_amounts(a: Decimal, b: Decimal) -> None:
    assert (total_key(a) < total_key(b)) == (a < b)
    assert (total_key(a) == total_key(b)) == (a == b)


def test_total_keys_have_a_fixed_width() -> None:
    assert total_key(Decimal("0")) == "0000000000000000000.00000000000000000000"
    assert len(total_key(Decimal("12.5"))) == len(total_key(Decimal("99999999.99")))


def test_defaults_and_clamping() -> None:
    query = parse_query(apb.QueryAbandonedCheckoutsRequest())
    assert query.sort == (("created", True),)
    assert query.page_size == 50
    assert parse_query(apb.QueryAbandonedCheckoutsRequest(page_size=500)).page_size == 100


def test_bounds_become_keys_and_a_negative_maximum_matches_nothing() -> None:
    query = parse_query(
        apb.QueryAbandonedCheckoutsRequest(
            filter=apb.AbandonedCheckoutFilter(
                total_price=query_pb2.DecimalRange(min="-3", max="10.005")
            )
        )
    )
    assert query.total_min == total_key(Decimal(0))
    assert query.total_max == total_key(Decimal("10.005"))
    nothing = parse_query(
        apb.QueryAbandonedCheckoutsRequest(
            filter=apb.AbandonedCheckoutFilter(total_price=query_pb2.DecimalRange(max="-1"))
        )
    )
    assert nothing.total_max == ""


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (apb.QueryAbandonedCheckoutsRequest(page_size=-1), "page_size"),
        (
            apb.QueryAbandonedCheckoutsRequest(
                filter=apb.AbandonedCheckoutFilter(
                    statuses=[abandoned_checkout_pb2.ABANDONED_CHECKOUT_STATUS_UNSPECIFIED]
                )
            ),
            "filter.statuses[0]",
        ),
        (
            apb.QueryAbandonedCheckoutsRequest(
                filter=apb.AbandonedCheckoutFilter(ids=[str(i) for i in range(101)])
            ),
            "filter.ids",
        ),
        (apb.QueryAbandonedCheckoutsRequest(sort=[apb.AbandonedCheckoutSort()]), "sort[0].field"),
        (
            apb.QueryAbandonedCheckoutsRequest(
                sort=[
                    apb.AbandonedCheckoutSort(field=apb.ABANDONED_CHECKOUT_SORT_FIELD_CREATED_DATE),
                    apb.AbandonedCheckoutSort(field=apb.ABANDONED_CHECKOUT_SORT_FIELD_CREATED_DATE),
                ]
            ),
            "sort[1].field",
        ),
        (apb.QueryAbandonedCheckoutsRequest(page_token="%%%"), "page_token"),
    ],
)
def test_bad_requests_name_the_field(
    request_: apb.QueryAbandonedCheckoutsRequest, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_query(request_)
    assert field in {v.field for v in caught.value.violations}


def test_a_token_works_only_with_its_own_filter_and_sort() -> None:
    by_total = apb.AbandonedCheckoutSort(
        field=apb.ABANDONED_CHECKOUT_SORT_FIELD_TOTAL_PRICE, order=query_pb2.SORT_ORDER_DESC
    )
    first = parse_query(apb.QueryAbandonedCheckoutsRequest(sort=[by_total], page_size=2))
    token = encode_token(first.fingerprint, ("0000.1", "id-1"))
    again = parse_query(
        apb.QueryAbandonedCheckoutsRequest(sort=[by_total], page_size=5, page_token=token)
    )
    assert again.after == ("0000.1", "id-1")
    with pytest.raises(InvalidArgument):
        parse_query(apb.QueryAbandonedCheckoutsRequest(page_token=token))

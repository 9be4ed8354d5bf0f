"""Discount rule management over real gRPC: create, read, update with masks and revisions,
delete, request ids, derived status, events, and QueryDiscountRules' filters, sorts and pages."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.common.v1 import query_pb2
from ecom.discounts.v1 import discount_rule_pb2
from tests.integration.discounts.cases import (
    FUTURE_START,
    PAST_END,
    PAST_START,
    items,
    quantity,
    rule,
    specific,
)
from tests.integration.discounts.kit import (
    OTHER_CATALOG,
    TRIGGERS,
    Served,
    applied_request,
    details,
    line,
    payload,
    pb,
    rule_from,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIVE = discount_rule_pb2.DISCOUNT_RULE_STATUS_LIVE
EXPIRED = discount_rule_pb2.DISCOUNT_RULE_STATUS_EXPIRED
PENDING = discount_rule_pb2.DISCOUNT_RULE_STATUS_PENDING


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def _update(
    served: Served, site: str, changed: discount_rule_pb2.DiscountRule, *paths: str
) -> Any:
    response = await served.rules.UpdateDiscountRule(
        pb.UpdateDiscountRuleRequest(discount_rule=changed, update_mask=_mask(*paths)),
        metadata=served.admin(site),
    )
    return response.discount_rule


async def _query(served: Served, site: str, **fields: Any) -> pb.QueryDiscountRulesResponse:
    response: pb.QueryDiscountRulesResponse = await served.rules.QueryDiscountRules(
        pb.QueryDiscountRulesRequest(**fields), metadata=served.admin(site)
    )
    return response


async def test_a_rule_is_stored_as_given_with_what_the_server_assigns(
    served: Served, site: str
) -> None:
    spec = rule("Hats", specific("PERCENTAGE", "12.5", "hat"), trigger=quantity(2))
    spec["discounts"]["values"][0]["specificItemsInfo"]["scopes"][0]["id"] = "my-scope"
    made = await served.create_rule(site, rule_from(spec))

    assert made.id and made.revision == 1 and made.usage_count == 0
    assert made.active and made.status == LIVE
    assert made.created_date == made.updated_date
    assert (
        made.trigger.trigger_type
        == discount_rule_pb2.DiscountTrigger.TRIGGER_TYPE_ITEM_QUANTITY_RANGE
    )
    scope = made.discounts.values[0].specific_items_info.scopes[0]
    assert scope.id == "my-scope"
    assert made.discounts.values[0].percentage == "12.5"
    assert made.settings.applies_to == discount_rule_pb2.DiscountRuleSettings.APPLIES_TO_ALL_ITEMS
    assert not made.settings.HasField("usage_limit")
    scope_in_trigger = rule_from(
        rule("x", specific("PERCENTAGE", "1"), trigger=quantity(1, 0, "a"))
    )
    with_ids = await served.create_rule(site, scope_in_trigger)
    assert with_ids.trigger.item_quantity_range.scopes[0].id  # assigned when empty

    got = await served.rules.GetDiscountRule(
        pb.GetDiscountRuleRequest(discount_rule_id=made.id), metadata=served.admin(site)
    )
    assert got.discount_rule == made
    events = await served.events(site, made.id, 1)
    assert events[0].type == "ecom.discounts.v1.discount_rule_created"
    assert payload(events[0]).discount_rule == made  # type: ignore[attr-defined]


async def test_status_is_derived_from_the_window(served: Served, site: str) -> None:
    old = await served.create_rule(
        site, rule_from(rule("Old", specific("PERCENTAGE", "5"), window=(PAST_START, PAST_END)))
    )
    later = rule("Later", specific("PERCENTAGE", "5"))
    later["activeTimeInfo"] = {"start": FUTURE_START}
    future = await served.create_rule(site, rule_from(later))
    assert (old.status, future.status) == (EXPIRED, PENDING)


async def test_updates_follow_the_mask_and_the_revision(served: Served, site: str) -> None:
    made = await served.create_rule(site, rule_from(rule("Before", specific("PERCENTAGE", "5"))))
    changed = discount_rule_pb2.DiscountRule(id=made.id, revision=1, name="After")
    changed.discounts.values.add()  # not named in the mask: not read (even though invalid)
    renamed = await _update(served, site, changed, "name")
    assert renamed.name == "After" and renamed.revision == 2
    assert renamed.discounts == made.discounts and renamed.created_date == made.created_date

    # A stale revision is ABORTED with the current one.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _update(served, site, changed, "name")
    assert caught.value.code() is grpc.StatusCode.ABORTED
    reason, metadata, _ = details(caught.value)
    assert reason == "REVISION_MISMATCH" and metadata["current_revision"] == "2"

    # A named field left unset is cleared: `active` false, and the rule stops applying.
    off = await _update(
        served, site, discount_rule_pb2.DiscountRule(id=made.id, revision=2), "active"
    )
    assert not off.active and off.status == LIVE
    response = await served.rules.GetAppliedDiscounts(
        applied_request([line("l1", "shirt", "20.00")]), metadata=served.service(site)
    )
    assert list(response.evaluated_discount_rules) == []

    # An empty mask means the fields that are set.
    implicit = discount_rule_pb2.DiscountRule(id=made.id, revision=3, name="Implicit", active=True)
    again = await _update(served, site, implicit)
    assert again.name == "Implicit" and again.active and again.revision == 4

    events = await served.events(site, made.id, 4)
    updated = [payload(e) for e in events if e.type.endswith("discount_rule_updated")]
    assert [list(u.updated_fields) for u in updated] == [["name"], ["active"], ["active", "name"]]  # type: ignore[attr-defined]


async def test_update_requests_are_checked(served: Served, site: str) -> None:
    made = await served.create_rule(site, rule_from(rule("R", specific("PERCENTAGE", "5"))))
    cases = [
        (
            discount_rule_pb2.DiscountRule(name="x"),
            ("name",),
            {"discount_rule.id", "discount_rule.revision"},
        ),
        (discount_rule_pb2.DiscountRule(id=made.id, revision=1), ("usage_count",), {"update_mask"}),
        (discount_rule_pb2.DiscountRule(id=made.id, revision=1), ("colour",), {"update_mask"}),
        (discount_rule_pb2.DiscountRule(id=made.id, revision=1), ("name",), {"discount_rule.name"}),
    ]
    for changed, paths, expected in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _update(served, site, changed, *paths)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(details(caught.value)[2]) == expected
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _update(served, site, discount_rule_pb2.DiscountRule(id="nope", revision=1, name="x"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_delete(served: Served, site: str) -> None:
    made = await served.create_rule(site, rule_from(rule("Doomed", specific("PERCENTAGE", "5"))))
    await served.rules.DeleteDiscountRule(
        pb.DeleteDiscountRuleRequest(discount_rule_id=made.id), metadata=served.admin(site)
    )
    for call in (served.rules.DeleteDiscountRule, served.rules.GetDiscountRule):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(
                pb.DeleteDiscountRuleRequest(discount_rule_id=made.id)
                if call is served.rules.DeleteDiscountRule
                else pb.GetDiscountRuleRequest(discount_rule_id=made.id),
                metadata=served.admin(site),
            )
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        assert details(caught.value)[0] == "DISCOUNT_RULE_NOT_FOUND"
    events = await served.events(site, made.id, 2)
    deleted = payload(events[1])
    assert deleted.discount_rule_id == made.id and deleted.discount_rule == made  # type: ignore[attr-defined]


async def test_request_ids_make_creates_retryable(served: Served, site: str) -> None:
    request = pb.CreateDiscountRuleRequest(
        discount_rule=rule_from(rule("Once", specific("PERCENTAGE", "5"))),
        request_id="3f1c9c7e-1f0b-4b7e-9a53-8e3f6c1d2a10",
    )
    first = await served.rules.CreateDiscountRule(request, metadata=served.admin(site))
    second = await served.rules.CreateDiscountRule(request, metadata=served.admin(site))
    assert first == second
    request.discount_rule.name = "Twice"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await served.rules.CreateDiscountRule(request, metadata=served.admin(site))
    assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert details(caught.value)[0] == "REQUEST_ID_REUSED"
    assert len((await _query(served, site)).discount_rules) == 1


async def test_query_filters(served: Served, site: str) -> None:
    live = await served.create_rule(
        site, rule_from(rule("Summer hats", specific("PERCENTAGE", "5")))
    )
    old = await served.create_rule(
        site,
        rule_from(rule("summer old", specific("PERCENTAGE", "5"), window=(PAST_START, PAST_END))),
    )
    off_spec = rule("Winter", specific("PERCENTAGE", "5"))
    off_spec["active"] = False
    other = specific("PERCENTAGE", "5")
    other["specificItemsInfo"]["scopes"] = [
        {"type": "SCOPE_TYPE_CATALOG_ITEM", "catalogItem": {"catalogAppId": OTHER_CATALOG}}
    ]
    off = await served.create_rule(site, rule_from({**off_spec, "discounts": {"values": [other]}}))
    vip = await served.create_rule(
        site,
        rule_from(
            rule(
                "VIP",
                specific("PERCENTAGE", "5"),
                trigger={"custom": {"id": "vip", "appId": TRIGGERS}},
            )
        ),
    )

    def ids(response: pb.QueryDiscountRulesResponse) -> set[str]:
        return {r.id for r in response.discount_rules}

    by = pb.DiscountRuleFilter
    assert ids(await _query(served, site, filter=by(status=[EXPIRED]))) == {old.id}
    assert ids(await _query(served, site, filter=by(status=[LIVE, PENDING]))) == {
        live.id,
        off.id,
        vip.id,
    }
    assert ids(await _query(served, site, filter=by(active=False))) == {off.id}
    assert ids(await _query(served, site, filter=by(name_prefix="SUMMER"))) == {live.id, old.id}
    assert ids(await _query(served, site, filter=by(app_ids=[OTHER_CATALOG]))) == {off.id}
    assert ids(await _query(served, site, filter=by(app_ids=[TRIGGERS]))) == {vip.id}
    assert ids(await _query(served, site, filter=by(ids=[live.id, vip.id]))) == {live.id, vip.id}
    newest_first = await _query(served, site)
    assert [r.id for r in newest_first.discount_rules] == [vip.id, off.id, old.id, live.id]
    created = query_pb2.TimestampRange(start=old.created_date, end=vip.created_date)
    assert ids(await _query(served, site, filter=by(created_date=created))) == {old.id, off.id}


async def test_query_sorts_and_pages(served: Served, site: str) -> None:
    names = ["delta", "Alpha", "charlie", "bravo", "echo", "alpha"]
    for name in names:
        await served.create_rule(site, rule_from(rule(name, specific("PERCENTAGE", "5"))))
    by_name = [pb.DiscountRuleSort(field=pb.DISCOUNT_RULE_SORT_FIELD_NAME)]
    seen: list[str] = []
    token = ""
    while True:
        page = await _query(served, site, sort=by_name, page_size=4, page_token=token)
        seen.extend(r.name for r in page.discount_rules)
        token = page.next_page_token
        if not token:
            break
    assert [n.lower() for n in seen] == ["alpha", "alpha", "bravo", "charlie", "delta", "echo"]
    descending = [
        pb.DiscountRuleSort(field=pb.DISCOUNT_RULE_SORT_FIELD_NAME, order=query_pb2.SORT_ORDER_DESC)
    ]
    first = await _query(served, site, sort=descending, page_size=2)
    assert [r.name for r in first.discount_rules] == ["echo", "delta"]
    # A token belongs to its filter and sort.
    for bad in (
        {"sort": by_name},
        {"filter": pb.DiscountRuleFilter(active=True), "sort": descending},
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _query(served, site, page_token=first.next_page_token, **bad)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(details(caught.value)[2]) == {"page_token"}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _query(served, site, page_size=-1)
    assert set(details(caught.value)[2]) == {"page_size"}
    echo, delta = first.discount_rules  # echo was created after delta
    backwards = query_pb2.TimestampRange(start=echo.created_date, end=delta.created_date)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _query(served, site, filter=pb.DiscountRuleFilter(updated_date=backwards))
    assert set(details(caught.value)[2]) == {"filter.updated_date"}


async def test_scopes_in_other_catalogs_and_custom_filters(served: Served, site: str) -> None:
    """Scopes match lines by catalog app, by item or its root item, and by custom scope data."""
    custom_scope = {
        "type": "SCOPE_TYPE_CUSTOM_FILTER",
        "customFilter": {"appId": "collections", "params": {"collection": ["summer", "beach"]}},
    }
    variant = specific("PERCENTAGE", "10", "tee")
    in_collection = {
        **specific("FIXED_AMOUNT", "1"),
        "specificItemsInfo": {"scopes": [custom_scope]},
    }
    await served.create_rule(site, rule_from(rule("Tees and summer", variant, in_collection)))
    tee_variant = line("l1", "tee-red-m", "30.00")
    tee_variant.root_catalog_item_id = "tee"
    towel = line("l2", "towel", "12.00")
    towel.custom_scope_data.add(app_id="collections").params.update({"collection": "beach", "x": 1})
    stranger = line("l3", "tee", "30.00", app_id=OTHER_CATALOG)  # same id, other catalog
    response = await served.rules.GetAppliedDiscounts(
        applied_request([tee_variant, towel, stranger]), metadata=served.service(site)
    )
    assert [d.total_discount.amount for d in response.line_item_discounts] == [
        "3.00",
        "1.00",
        "0.00",
    ]
    assert items()  # the helper's whole-catalog scope stays valid

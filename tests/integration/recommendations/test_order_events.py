"""The built-in statistics follow order events: approvals count, cancellations take back exactly
what they added, repeats change nothing, windows are days of the order's creation, variants are
merged, and the documented tie-breaks hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecom.orders.v1 import order_pb2
from tests.integration.recommendations.kit import (
    BEST,
    BUILTIN,
    FBT,
    Line,
    Served,
    approved,
    canceled,
    envelope,
    ids,
    new_order_id,
    order,
    product,
    ref,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def now() -> datetime:
    return datetime.now(UTC)


async def stock(served: Served, site: str, *product_ids: str) -> None:
    await served.products(site, *(product(p) for p in product_ids))


async def test_cancellation_takes_the_order_back_out(served: Served, site: str) -> None:
    await stock(served, site, "a", "b", "c")
    first = order(new_order_id(), now() - timedelta(hours=2), [Line("a", 2), Line("b")])
    second = order(new_order_id(), now() - timedelta(hours=1), [Line("a"), Line("c", 5)])
    await served.apply([approved(site, first), approved(site, second)])

    together = await served.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(together.recommendation.items) == ["c", "b"]  # a tie: the latest order first
    best = await served.recommend(site, [(BUILTIN, BEST)])
    assert ids(best.recommendation.items) == ["c", "a", "b"]  # units 5, 3, 1

    await served.apply([canceled(site, second)])
    together = await served.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(together.recommendation.items) == ["b"]
    best = await served.recommend(site, [(BUILTIN, BEST)])
    assert ids(best.recommendation.items) == ["a", "b"]  # units 2, 1

    # A cancellation again, or an approval after the cancellation, changes nothing.
    await served.apply([canceled(site, second), approved(site, second)])
    best = await served.recommend(site, [(BUILTIN, BEST)])
    assert ids(best.recommendation.items) == ["a", "b"]


async def test_a_cancellation_restores_the_latest_order_of_each_pair(
    served: Served, site: str
) -> None:
    await stock(served, site, "a", "b", "c")
    start = now() - timedelta(minutes=10)

    def at(minute: int, partner: str) -> order_pb2.Order:
        return order(new_order_id(), start + timedelta(minutes=minute), [Line("a"), Line(partner)])

    b1, c2, b4, c5, b6 = at(1, "b"), at(2, "c"), at(4, "b"), at(5, "c"), at(6, "b")
    await served.apply([approved(site, o) for o in (b1, c2, b4, c5, b6)])
    together = await served.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(together.recommendation.items) == ["b", "c"]  # 3 orders against 2

    # Now 2 against 2: the tie goes to the latest remaining order, c's (minute 5), not the
    # canceled one of b (minute 6).
    await served.apply([canceled(site, b6)])
    together = await served.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(together.recommendation.items) == ["c", "b"]


async def test_a_redelivered_or_repeated_approval_counts_once(served: Served, site: str) -> None:
    await stock(served, site, "a", "b")
    placed = order(new_order_id(), now(), [Line("a", 1), Line("b", 3)])
    event = approved(site, placed)
    # The same event twice (at-least-once delivery) and a second approval event of the order.
    await served.apply([event, event, approved(site, placed)])
    other = order(new_order_id(), now(), [Line("a", 3)])
    await served.apply([approved(site, other)])
    best = await served.recommend(site, [(BUILTIN, BEST)])
    # a: 4 units in 2 orders; b: 3 units. Counted twice, b would lead with 6.
    assert ids(best.recommendation.items) == ["a", "b"]


async def test_a_cancellation_before_the_approval_keeps_the_order_out(
    served: Served, site: str
) -> None:
    await stock(served, site, "a", "b")
    placed = order(new_order_id(), now(), [Line("a"), Line("b")])
    await served.apply([canceled(site, placed)])
    await served.apply([approved(site, placed)])
    response = await served.recommend(site, [(BUILTIN, BEST)])
    assert not response.recommendation.items
    assert not response.recommendation.HasField("algorithm")


async def test_windows_are_days_of_the_orders_creation(served: Served, site: str) -> None:
    await stock(served, site, "recent", "older", "oldest", "anchor")
    events = [
        approved(site, order(new_order_id(), now(), [Line("anchor"), Line("recent")])),
        # 45 days ago: outside BEST_SELLERS' 30 days, inside FREQUENTLY_BOUGHT_TOGETHER's 90.
        approved(
            site,
            order(new_order_id(), now() - timedelta(days=45), [Line("anchor"), Line("older", 9)]),
        ),
        # 120 days ago: outside both.
        approved(
            site,
            order(new_order_id(), now() - timedelta(days=120), [Line("anchor"), Line("oldest", 9)]),
        ),
    ]
    await served.apply(events)
    best = await served.recommend(site, [(BUILTIN, BEST)])
    assert ids(best.recommendation.items) == ["anchor", "recent"]
    together = await served.recommend(site, [(BUILTIN, FBT)], [ref("anchor")])
    assert sorted(ids(together.recommendation.items)) == ["older", "recent"]


async def test_variants_are_merged_and_recommended_as_items(served: Served, site: str) -> None:
    shirt = product("shirt")
    shirt.variants.add(id="s", options={"Size": "S"})
    shirt.variants.add(id="m", options={"Size": "M"})
    await served.products(site, shirt, product("socks"), product("hat"))
    events = [
        approved(
            site,
            order(
                new_order_id(),
                now(),
                [Line("shirt", 1, options={"variantId": "s"}), Line("socks")],
            ),
        ),
        approved(
            site,
            order(
                new_order_id(),
                now(),
                [
                    Line("shirt", 2, options={"options": {"Size": "M"}}),
                    Line("shirt", 1, options={"variantId": "s"}),
                    Line("hat"),
                    Line("", 4),  # a custom line: not an item of any catalog
                ],
            ),
        ),
    ]
    await served.apply(events)
    best = await served.recommend(site, [(BUILTIN, BEST)])
    # The shirt is one item (4 units) although the catalog only sells its variants.
    assert ids(best.recommendation.items) == ["shirt", "hat", "socks"]
    assert all(not item.HasField("options") for item in best.recommendation.items)
    # Asking with one variant leaves every variant of the item out.
    together = await served.recommend(site, [(BUILTIN, FBT)], [ref("shirt", variantId="m")])
    assert ids(together.recommendation.items) == ["hat", "socks"]


async def test_a_malformed_event_is_skipped_not_retried_forever(served: Served, site: str) -> None:
    await stock(served, site, "a", "b")
    broken = envelope(site, "ecom.orders.v1.order_approved", new_order_id(), ref("not-an-order"))
    good = approved(site, order(new_order_id(), now(), [Line("a"), Line("b")]))
    await served.apply([broken, good])
    response = await served.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(response.recommendation.items) == ["b"]


async def test_sites_are_kept_apart(served: Served, site: str) -> None:
    other_site = f"{site}-other"
    await stock(served, site, "a", "b")
    await stock(served, other_site, "a", "b", "c")
    await served.apply(
        [
            approved(other_site, order(new_order_id(), now(), [Line("a"), Line("c")])),
            approved(site, order(new_order_id(), now(), [Line("a"), Line("b")])),
        ]
    )
    response = await served.recommend(site, [(BUILTIN, FBT)], [ref("a")])
    assert ids(response.recommendation.items) == ["b"]


async def test_full_ties_break_by_item_id_in_code_point_order(served: Served, site: str) -> None:
    await stock(served, site, "a", "B", "_x", "anchor")
    at = now()
    await served.apply(
        [
            approved(site, order(new_order_id(), at, [Line(item, 2), Line("anchor")]))
            for item in ("a", "B", "_x")
        ]
    )
    # Same units, orders and (one shared time) latest order: "B" < "_x" < "a" by code point,
    # whatever the database's collation.
    best = await served.recommend(site, [(BUILTIN, BEST)], [ref("anchor")])
    assert ids(best.recommendation.items) == ["B", "_x", "a"]
    together = await served.recommend(site, [(BUILTIN, FBT)], [ref("anchor")])
    assert ids(together.recommendation.items) == ["B", "_x", "a"]

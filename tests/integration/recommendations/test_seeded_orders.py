"""Recommendations after 1,000 orders, checked against a direct count of the same orders.

The orders (seeded once per backend) are approved through `order_approved` events as the orders
service publishes them, 5% canceled again through `order_canceled`; they are spread over 120
days, hold custom lines, lines of a catalog no provider serves and variants of a product that
the reference catalog only knows by its variants. Some products are then no longer sold
(deleted, hidden, out of stock). The expected answers are computed here, in plain Python, from
the orders themselves, with the ranking the proto documents.

Seeding costs one consumer transaction per event (about 1,050 of them), so this module runs on
the production pair only (PostgreSQL with the Redis Streams bus); the other modules hold the same
rules on both backends with small seeds.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from ecom.events.v1 import event_pb2
from ecom.orders.v1 import order_pb2
from tests.integration.recommendations.conftest import backend_environ, serve
from tests.integration.recommendations.kit import (
    BEST,
    BUILTIN,
    CATALOG,
    FBT,
    Line,
    Reason,
    Served,
    approved,
    canceled,
    ids,
    order,
    product,
    ref,
    skipped,
    start_provider,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ORDERS = 1000
PRODUCTS = [f"p{n:02d}" for n in range(40)]
SHIRT = "shirt"  # sold only as variants
UNSERVED = "other.catalog"  # no catalog provider is registered under this app id
DELETED, HIDDEN, SOLD_OUT = "p03", "p06", "p08"
NOT_SOLD = {DELETED, HIDDEN, SOLD_OUT}
TOGETHER_DAYS, BEST_SELLER_DAYS = 90, 30


@dataclass
class Placed:
    created: datetime
    units: dict[tuple[str, str], int]  # (app id, item id) -> units, variants merged
    canceled: bool = False


@dataclass
class Seeded:
    site: str
    orders: list[Placed] = field(default_factory=list)

    def counted(self, days: int) -> list[Placed]:
        first = datetime.now(UTC).date() - timedelta(days=days - 1)
        return [o for o in self.orders if not o.canceled and o.created.date() >= first]

    @staticmethod
    def sold(item: tuple[str, str]) -> bool:
        return item[0] == CATALOG and item[1] not in NOT_SOLD

    def best_sellers(self, excluded: Iterable[str] = ()) -> list[str]:
        units: Counter[tuple[str, str]] = Counter()
        orders: Counter[tuple[str, str]] = Counter()
        for placed in self.counted(BEST_SELLER_DAYS):
            for item, count in placed.units.items():
                units[item] += count
                orders[item] += 1
        ranked = sorted(units, key=lambda i: (-units[i], -orders[i], i[1], i[0]))
        return [i[1] for i in ranked if self.sold(i) and i[1] not in set(excluded)][:100]

    def bought_together(self, *request: str) -> list[str]:
        wanted = {(CATALOG, item) for item in request}
        score: Counter[tuple[str, str]] = Counter()
        latest: dict[tuple[str, str], datetime] = {}
        for placed in self.counted(TOGETHER_DAYS):
            hits = len(wanted & placed.units.keys())
            for item in placed.units.keys() - wanted:
                if hits:
                    score[item] += hits
                    latest[item] = max(latest.get(item, placed.created), placed.created)
        ranked = sorted(score, key=lambda i: (-score[i], -latest[i].timestamp(), i[1], i[0]))
        return [i[1] for i in ranked if self.sold(i)][:100]


def _lines(rng: random.Random) -> list[Line]:
    # Popularity falls with the product number, so counts differ and ties are rare but occur.
    weights = [1.0 / (1 + n) ** 0.8 for n in range(len(PRODUCTS))]
    chosen = set(rng.choices(PRODUCTS, weights, k=rng.randint(1, 4)))
    lines = [Line(item, rng.randint(1, 3)) for item in sorted(chosen)]
    if rng.random() < 0.15:
        lines.append(Line(SHIRT, 1, options={"variantId": rng.choice(["s", "m"])}))
        if rng.random() < 0.5:  # the same item as another variant: merged
            lines.append(Line(SHIRT, 2, options={"options": {"Size": "L"}}))
    if rng.random() < 0.1:
        lines.append(Line("", 2))  # a custom line
    if rng.random() < 0.1:
        lines.append(Line("x1", 1, app_id=UNSERVED))
    return lines


def _created(rng: random.Random, number: int) -> datetime:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    band = rng.random()
    if band < 0.7:
        days = rng.randint(0, 25)
    elif band < 0.9:
        days = rng.randint(35, 80)  # in FREQUENTLY_BOUGHT_TOGETHER's window only
    else:
        days = rng.randint(95, 120)  # in neither window
    # Distinct times (a second apart) keep "the most recent order" a strict order.
    return today - timedelta(days=days) + timedelta(seconds=number)


def _units(lines: list[Line]) -> dict[tuple[str, str], int]:
    units: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        if line.item_id:
            units[(line.app_id, line.item_id)] += line.quantity
    return dict(units)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """The suite part on PostgreSQL with the Redis Streams bus."""
    running = await serve(tmp_path_factory.mktemp("seeded"), backend_environ(request, "postgresql"))
    yield running
    await running.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(served: Served) -> AsyncIterator[Seeded]:
    site = f"seeded-{uuid.uuid4().hex[:10]}"
    shirt = product(SHIRT)
    shirt.variants.add(id="s", options={"Size": "S"})
    shirt.variants.add(id="m", options={"Size": "M"})
    shirt.variants.add(id="l", options={"Size": "L"})
    await served.products(site, *(product(p) for p in PRODUCTS), shirt)

    rng = random.Random(20251127)
    data = Seeded(site)
    events: list[event_pb2.Event] = []
    to_cancel: list[order_pb2.Order] = []
    for number in range(ORDERS):
        lines = _lines(rng)
        placed = order(str(uuid.uuid4()), _created(rng, number), lines)
        record = Placed(_created_of(placed), _units(lines))
        data.orders.append(record)
        events.append(approved(site, placed))
        if rng.random() < 0.05:
            record.canceled = True
            to_cancel.append(placed)
    events.extend(canceled(site, placed) for placed in to_cancel)
    await served.publish(events)
    await served.consumed((e.id for e in events), timeout_s=120)

    await served.delete_product(site, DELETED)
    hidden = product(HIDDEN, visible=False)
    await served.products(site, hidden)
    await served.set_stock(site, SOLD_OUT, 0)
    yield data


def _created_of(placed: order_pb2.Order) -> datetime:
    return placed.created_date.ToDatetime(tzinfo=UTC)


async def test_the_seed_is_what_the_checks_need(seeded: Seeded) -> None:
    assert len(seeded.orders) == ORDERS
    assert 30 <= sum(o.canceled for o in seeded.orders) <= 80
    assert len(seeded.best_sellers()) > 20
    popular = Counter(i for o in seeded.counted(TOGETHER_DAYS) for i in o.units)
    assert all(popular[(CATALOG, item)] for item in NOT_SOLD)  # they would rank without filtering
    assert popular[(CATALOG, SHIRT)] > 20


@pytest.mark.parametrize("item", ["p00", "p01", "p07", "p25", SHIRT])
async def test_frequently_bought_together_matches_a_direct_count(
    served: Served, seeded: Seeded, item: str
) -> None:
    response = await served.recommend(seeded.site, [(BUILTIN, FBT)], [ref(item)])
    expected = seeded.bought_together(item)
    assert expected, "the seed must give every checked item partners"
    assert ids(response.recommendation.items) == expected
    assert response.recommendation.algorithm.algorithm_id == FBT
    assert NOT_SOLD.isdisjoint(ids(response.recommendation.items))


async def test_frequently_bought_together_sums_over_the_requested_items(
    served: Served, seeded: Seeded
) -> None:
    request = [ref("p02"), ref("p05", variantId="ignored"), ref("p02")]
    response = await served.recommend(seeded.site, [(BUILTIN, FBT)], request)
    assert ids(response.recommendation.items) == seeded.bought_together("p02", "p05")


async def test_best_sellers_match_the_top_sellers(served: Served, seeded: Seeded) -> None:
    response = await served.recommend(seeded.site, [(BUILTIN, BEST)])
    expected = seeded.best_sellers()
    assert ids(response.recommendation.items) == expected
    assert SHIRT in expected and not NOT_SOLD & set(expected)

    without = await served.recommend(
        seeded.site, [(BUILTIN, BEST)], [ref(expected[0]), ref(expected[3])]
    )
    assert ids(without.recommendation.items) == seeded.best_sellers([expected[0], expected[3]])


async def test_an_external_provider_is_consulted_in_order(served: Served, seeded: Seeded) -> None:
    provider = await start_provider()
    try:
        popular = [f"p{n}" for n in range(10, 32)]
        # "empty" relates items but has none; "trending" answers with popular items among which
        # some are repeated, requested (any variant), or no longer sold.
        provider.servicer.offer("empty", [], kind=1)
        provider.servicer.offer(
            "trending",
            [
                ref(DELETED),
                *(ref(item) for item in popular[:10]),
                ref("p38"),
                ref(popular[0]),
                ref("p38", variantId="x"),
                ref(SOLD_OUT),
                ref("x1", UNSERVED),
                ref(HIDDEN),
                *(ref(item) for item in popular[10:]),
            ],
        )
        await served.register(seeded.site, "acme.recs", provider.target)
        together = seeded.bought_together("p38")
        assert 0 < len(together) < len(popular)

        # FREQUENTLY_BOUGHT_TOGETHER comes second but cannot reach the minimum: "trending" wins.
        response = await served.recommend(
            seeded.site,
            [("acme.recs", "empty"), (BUILTIN, FBT), ("acme.recs", "trending")],
            [ref("p38")],
            minimum=len(together) + 1,
        )
        assert ids(response.recommendation.items) == popular
        assert response.recommendation.algorithm.app_id == "acme.recs"
        assert response.recommendation.algorithm.algorithm_id == "trending"
        assert skipped(response) == [
            ("acme.recs", "empty", Reason.REASON_NOT_ENOUGH_ITEMS, 0),
            (BUILTIN, FBT, Reason.REASON_NOT_ENOUGH_ITEMS, len(together)),
        ]
        # The provider's two algorithms took the same items: one call asked for both.
        assert provider.servicer.asked() == [["empty", "trending"]]
        assert ids(provider.servicer.requests[0].items) == ["p38"]

        # With a minimum the built-in reaches, it wins and nothing after it counts.
        response = await served.recommend(
            seeded.site,
            [(BUILTIN, FBT), ("acme.recs", "trending")],
            [ref("p38")],
            minimum=len(together),
        )
        assert ids(response.recommendation.items) == together
        assert not response.skipped_algorithms

        # Unknown algorithms are passed over, whoever would serve them.
        response = await served.recommend(
            seeded.site,
            [("nobody", "x"), ("acme.recs", "missing"), (BUILTIN, "NOPE"), (BUILTIN, BEST)],
        )
        assert ids(response.recommendation.items) == seeded.best_sellers()
        assert [s[2] for s in skipped(response)] == [Reason.REASON_ALGORITHM_NOT_FOUND] * 3
    finally:
        await provider.server.stop(0)

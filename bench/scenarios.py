"""Benchmark scenarios: one RPC (or flow) of the suite, with the targets it needs.

A scenario prepares whatever data it needs once, then returns the call the load generator
repeats. Service issues add their scenarios to `SCENARIOS`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import Message

from bench.backend import Server
from services.platform.config import Config
from services.platform.identity import Role, TokenService

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncSession

    from ecom.common.v1 import line_item_pb2

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Prepared:
    call: Call
    request_bytes: int
    response_bytes: int


@dataclass(frozen=True)
class Scenario:
    name: str
    targets: tuple[str, ...]
    description: str
    #: Sets up the scenario's data on the running server (through its RPCs, or, for a large data
    #: set, in the storage `Server` names) and returns the call to repeat.
    prepare: Callable[[grpc.aio.Channel, TokenService, Server], Awaitable[Prepared]]


async def _unary(
    channel: grpc.aio.Channel,
    method: str,
    request: Message,
    response_type: type[Message],
    metadata: tuple[tuple[str, str], ...],
) -> Prepared:
    """A repeated unary call; the first call measures the message sizes for the baseline."""
    rpc = channel.unary_unary(
        method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    first = await rpc(request, metadata=metadata)

    async def call() -> object:
        return await rpc(request, metadata=metadata)

    return Prepared(call, request.ByteSize(), first.ByteSize())


def _auth(tokens: TokenService, role: Role = Role.ADMIN) -> tuple[tuple[str, str], ...]:
    token = tokens.mint(role=role, site="bench", subject=f"bench-{role.value}")
    return (("authorization", f"Bearer {token}"),)


async def _health(channel: grpc.aio.Channel, tokens: TokenService, server: Server) -> Prepared:
    from grpc_health.v1 import health_pb2

    return await _unary(
        channel,
        "/grpc.health.v1.Health/Check",
        health_pb2.HealthCheckRequest(),
        health_pb2.HealthCheckResponse,
        (),
    )


async def _list_providers(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    from ecom.providers.v1 import provider_registry_service_pb2 as registry

    return await _unary(
        channel,
        "/ecom.providers.v1.ProviderRegistryService/ListProviders",
        registry.ListProvidersRequest(page_size=20),
        registry.ListProvidersResponse,
        _auth(tokens),
    )


async def _catalog_items(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    """20 references (10 products, 10 variants) of a stocked catalog, the way a cart asks."""
    from ecom.catalog.v1 import catalog_admin_service_pb2 as admin
    from ecom.catalog.v1 import catalog_admin_service_pb2_grpc, product_pb2
    from ecom.common.v1 import catalog_pb2, channel_pb2
    from ecom.spi.catalog.v1 import catalog_provider_service_pb2 as catalog

    products = [
        product_pb2.Product(id=f"bench-{i}", name=f"Bench product {i}", price="9.99", weight="0.5")
        for i in range(10)
    ] + [
        product_pb2.Product(
            id="bench-tee",
            name="Bench tee",
            price="19.00",
            compare_at_price="25.00",
            variants=[product_pb2.Variant(id=f"v{i}", options={"Size": str(i)}) for i in range(10)],
        )
    ]
    stock = [admin.StockSetting(product_id=f"bench-{i}", quantity=1000) for i in range(10)] + [
        admin.StockSetting(product_id="bench-tee", variant_id=f"v{i}", quantity=1000)
        for i in range(10)
    ]
    stub = catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(channel)
    await stub.UpsertProducts(
        admin.UpsertProductsRequest(products=products), metadata=_auth(tokens)
    )
    await stub.SetStock(admin.SetStockRequest(items=stock), metadata=_auth(tokens))

    def reference(item_id: str, **options: str) -> catalog_pb2.CatalogReference:
        ref = catalog_pb2.CatalogReference(catalog_item_id=item_id, app_id="ecom.catalog")
        if options:
            ref.options.update({"options": options})
        return ref

    references = [reference(f"bench-{i}") for i in range(10)] + [
        reference("bench-tee", Size=str(i)) for i in range(10)
    ]
    request = catalog.GetCatalogItemsRequest(
        catalog_references=[
            catalog.CatalogReferenceAndQuantity(catalog_reference=r, quantity=1) for r in references
        ],
        currency="USD",
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
    )
    return await _unary(
        channel,
        "/ecom.spi.catalog.v1.CatalogProviderService/GetCatalogItems",
        request,
        catalog.GetCatalogItemsResponse,
        (*_auth(tokens, Role.SERVICE), ("x-ecom-app-id", "ecom.catalog")),
    )


async def _shipping_rates(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    """10 shippable lines to a US address, quoted by the reference shipping provider's demo
    table (region choice, weight tiers, free-over threshold, pickup): what a cart estimate asks."""
    from ecom.common.v1 import address_pb2, catalog_pb2, channel_pb2, line_item_pb2, money_pb2
    from ecom.spi.shipping_rates.v1 import shipping_rates_provider_service_pb2 as shipping

    lines = [
        line_item_pb2.LineItem(
            id=f"line-{i}",
            quantity=1 + i % 3,
            price=money_pb2.Price(amount="9.99"),
            physical_properties=catalog_pb2.PhysicalProperties(weight="0.25", shippable=True),
        )
        for i in range(10)
    ]
    request = shipping.GetShippingRatesRequest(
        line_items=lines,
        shipping_destination=address_pb2.Address(country="US", subdivision="US-NY"),
        weight_unit=channel_pb2.WEIGHT_UNIT_KG,
        currency="USD",
    )
    return await _unary(
        channel,
        "/ecom.spi.shipping_rates.v1.ShippingRatesProviderService/GetShippingRates",
        request,
        shipping.GetShippingRatesResponse,
        (*_auth(tokens, Role.SERVICE), ("x-ecom-app-id", "ecom.shipping")),
    )


# -- cart (services/cart) ------------------------------------------------------------------------

#: Carts the cart scenarios spread their calls over: one cart per simulated shopper, so the load
#: measures the service, not 32 callers queueing on one cart's row lock.
_CART_SHOPPERS = 64
_CART_LINES = 20


@dataclass(frozen=True)
class _Shopper:
    cart_id: str
    metadata: tuple[tuple[str, str], ...]


async def _cart_shoppers(channel: grpc.aio.Channel, tokens: TokenService) -> list[_Shopper]:
    """20 products in the reference catalog (app `ecom.catalog`, registered for every site by
    `ecom serve`) and 64 visitors whose current cart holds one line of each."""
    from ecom.cart.v1 import current_cart_service_pb2 as current
    from ecom.cart.v1 import current_cart_service_pb2_grpc
    from ecom.catalog.v1 import catalog_admin_service_pb2 as admin
    from ecom.catalog.v1 import catalog_admin_service_pb2_grpc, product_pb2
    from ecom.providers.v1 import provider_registry_service_pb2 as registry
    from ecom.providers.v1 import provider_registry_service_pb2_grpc

    listed = await provider_registry_service_pb2_grpc.ProviderRegistryServiceStub(
        channel
    ).ListProviders(registry.ListProvidersRequest(page_size=100), metadata=_auth(tokens))
    if not any(p.app_id == "ecom.catalog" for p in listed.providers):
        raise RuntimeError(
            "skipped: the cart scenarios need the reference catalog target ('catalog') "
            "registered as app ecom.catalog"
        )
    products = [
        product_pb2.Product(
            id=f"bench-cart-{i}", name=f"Cart product {i}", price=f"{i + 1}.99", weight="0.25"
        )
        for i in range(_CART_LINES)
    ]
    await catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(channel).UpsertProducts(
        admin.UpsertProductsRequest(products=products), metadata=_auth(tokens)
    )
    stub = current_cart_service_pb2_grpc.CurrentCartServiceStub(channel)
    shoppers = []
    for n in range(_CART_SHOPPERS):
        token = tokens.mint(role=Role.VISITOR, site="bench", subject=f"bench-shopper-{n}")
        metadata = (("authorization", f"Bearer {token}"),)
        reply = await stub.AddToCurrentCart(
            current.AddToCurrentCartRequest(line_items=[_cart_line(i) for i in range(_CART_LINES)]),
            metadata=metadata,
        )
        shoppers.append(_Shopper(reply.cart.id, metadata))
    return shoppers


def _cart_line(i: int) -> line_item_pb2.LineItem:
    from ecom.common.v1 import line_item_pb2

    line = line_item_pb2.LineItem(quantity=1)
    line.catalog_reference.catalog_item_id = f"bench-cart-{i % _CART_LINES}"
    line.catalog_reference.app_id = "ecom.catalog"
    return line


async def _rotating(
    channel: grpc.aio.Channel,
    method: str,
    requests: Sequence[tuple[Message, tuple[tuple[str, str], ...]]],
    response_type: type[Message],
) -> Prepared:
    """Like `_unary`, but each call takes the next (request, metadata) in turn."""
    rpc = channel.unary_unary(
        method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    first = await rpc(requests[0][0], metadata=requests[0][1])
    turn = 0

    async def call() -> object:
        nonlocal turn
        request, metadata = requests[turn % len(requests)]
        turn += 1
        return await rpc(request, metadata=metadata)

    return Prepared(call, requests[0][0].ByteSize(), first.ByteSize())


async def _cart_add(channel: grpc.aio.Channel, tokens: TokenService, server: Server) -> Prepared:
    from ecom.cart.v1 import cart_service_pb2 as cart

    shoppers = await _cart_shoppers(channel, tokens)
    requests = [
        (cart.AddToCartRequest(id=s.cart_id, line_items=[_cart_line(n)]), s.metadata)
        for n, s in enumerate(shoppers)
    ]
    return await _rotating(
        channel, "/ecom.cart.v1.CartService/AddToCart", requests, cart.AddToCartResponse
    )


async def _cart_estimate(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    from ecom.cart.v1 import cart_service_pb2 as cart
    from ecom.common.v1 import address_pb2

    shoppers = await _cart_shoppers(channel, tokens)
    destination = address_pb2.Address(country="US", subdivision="US-NY", city="New York")
    requests = [
        (cart.EstimateTotalsRequest(id=s.cart_id, shipping_address=destination), s.metadata)
        for s in shoppers
    ]
    return await _rotating(
        channel, "/ecom.cart.v1.CartService/EstimateTotals", requests, cart.EstimateTotalsResponse
    )


async def _current_add(channel: grpc.aio.Channel, tokens: TokenService, server: Server) -> Prepared:
    from ecom.cart.v1 import current_cart_service_pb2 as current

    shoppers = await _cart_shoppers(channel, tokens)
    requests = [
        (current.AddToCurrentCartRequest(line_items=[_cart_line(n)]), s.metadata)
        for n, s in enumerate(shoppers)
    ]
    return await _rotating(
        channel,
        "/ecom.cart.v1.CurrentCartService/AddToCurrentCart",
        requests,
        current.AddToCurrentCartResponse,
    )


async def _current_get(channel: grpc.aio.Channel, tokens: TokenService, server: Server) -> Prepared:
    from ecom.cart.v1 import current_cart_service_pb2 as current

    shoppers = await _cart_shoppers(channel, tokens)
    requests = [(current.GetCurrentCartRequest(), s.metadata) for s in shoppers]
    return await _rotating(
        channel,
        "/ecom.cart.v1.CurrentCartService/GetCurrentCart",
        requests,
        current.GetCurrentCartResponse,
    )


#: The cart prices every answer with the discounts service's GetAppliedDiscounts.
_CART_TARGETS = ("providers", "catalog", "discounts", "cart")


# -- fulfillment (services/fulfillment) ---------------------------------------------------------

#: Orders the fulfillment scenarios spread their calls over, so that callers do not all queue on
#: one order's lock.
_FULFILLMENT_ORDERS = 64
_FULFILLMENT_TARGETS = ("orders", "fulfillment")


async def _fulfillment_orders(channel: grpc.aio.Channel, tokens: TokenService) -> list[str]:
    """Approved orders of 3 lines (quantities 100000, 1, 1), each with one fulfillment already
    (the second line), as the orders service creates them."""
    from ecom.common.v1 import channel_pb2, money_pb2
    from ecom.fulfillment.v1 import fulfillment_pb2
    from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as ful
    from ecom.fulfillment.v1 import order_fulfillments_service_pb2_grpc as ful_grpc
    from ecom.orders.v1 import order_pb2, orders_service_pb2, orders_service_pb2_grpc

    orders = orders_service_pb2_grpc.OrdersServiceStub(channel)
    fulfillments = ful_grpc.OrderFulfillmentsServiceStub(channel)
    md = _auth(tokens)
    order = order_pb2.Order(currency="USD")
    order.channel_info.type = channel_pb2.CHANNEL_TYPE_WEB
    order.price_summary.total.amount = "1000020.00"
    for n, quantity in enumerate((100_000, 1, 1)):
        order.line_items.add(
            product_name=money_pb2.LocalizedText(original=f"Bench item {n}"),
            quantity=quantity,
            price=money_pb2.Price(amount="10.00"),
        )

    async def one() -> str:
        created = await orders.CreateOrder(
            orders_service_pb2.CreateOrderRequest(order=order), metadata=md
        )
        approved: orders_service_pb2.ApproveOrderResponse = await orders.ApproveOrder(
            orders_service_pb2.ApproveOrderRequest(id=created.order.id), metadata=md
        )
        line = approved.order.line_items[1].id
        await fulfillments.CreateFulfillment(
            ful.CreateFulfillmentRequest(
                order_id=approved.order.id,
                fulfillment=fulfillment_pb2.Fulfillment(
                    line_items=[fulfillment_pb2.FulfillmentLineItem(id=line)],
                    tracking_info=fulfillment_pb2.TrackingInfo(
                        tracking_number="1Z999", shipping_provider="ups"
                    ),
                ),
            ),
            metadata=md,
        )
        return approved.order.id

    return list(await asyncio.gather(*(one() for _ in range(_FULFILLMENT_ORDERS))))


async def _fulfillment_list(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as ful

    md = _auth(tokens)
    requests = [
        (ful.ListFulfillmentsForSingleOrderRequest(order_id=order_id), md)
        for order_id in await _fulfillment_orders(channel, tokens)
    ]
    return await _rotating(
        channel,
        "/ecom.fulfillment.v1.OrderFulfillmentsService/ListFulfillmentsForSingleOrder",
        requests,
        ful.ListFulfillmentsForSingleOrderResponse,
    )


async def _fulfillment_create_delete(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    """One unit of the big line fulfilled, then the fulfillment deleted again (so an order never
    reaches its 300-fulfillment limit): the write path twice per call."""
    from ecom.fulfillment.v1 import fulfillment_pb2
    from ecom.fulfillment.v1 import order_fulfillments_service_pb2 as ful
    from ecom.fulfillment.v1 import order_fulfillments_service_pb2_grpc as ful_grpc
    from ecom.orders.v1 import orders_service_pb2, orders_service_pb2_grpc

    md = _auth(tokens)
    order_ids = await _fulfillment_orders(channel, tokens)
    orders = orders_service_pb2_grpc.OrdersServiceStub(channel)
    lines = [
        (await orders.GetOrder(orders_service_pb2.GetOrderRequest(id=i), metadata=md))
        .order.line_items[0]
        .id
        for i in order_ids
    ]
    stub = ful_grpc.OrderFulfillmentsServiceStub(channel)
    requests = [
        ful.CreateFulfillmentRequest(
            order_id=order_id,
            fulfillment=fulfillment_pb2.Fulfillment(
                line_items=[fulfillment_pb2.FulfillmentLineItem(id=line, quantity=1)],
                tracking_info=fulfillment_pb2.TrackingInfo(
                    tracking_number="1Z999", shipping_provider="fedex"
                ),
            ),
        )
        for order_id, line in zip(order_ids, lines, strict=True)
    ]
    turn = 0

    async def call() -> object:
        nonlocal turn
        request = requests[turn % len(requests)]
        turn += 1
        created = await stub.CreateFulfillment(request, metadata=md)
        return await stub.DeleteFulfillment(
            ful.DeleteFulfillmentRequest(
                order_id=request.order_id, fulfillment_id=created.fulfillment_id
            ),
            metadata=md,
        )

    first = await call()
    assert isinstance(first, ful.DeleteFulfillmentResponse)
    return Prepared(call, requests[0].ByteSize(), first.ByteSize())


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("health", ("events",), "grpc.health.v1 Check: server stack only", _health),
        Scenario(
            "providers.list",
            ("providers",),
            "ProviderRegistryService/ListProviders: auth, interceptor, database read",
            _list_providers,
        ),
        Scenario(
            "catalog.get_items",
            ("catalog",),
            "CatalogProviderService/GetCatalogItems, 20 references: variants, stock, holds",
            _catalog_items,
        ),
        Scenario(
            "shipping.get_rates",
            ("shipping",),
            "ShippingRatesProviderService/GetShippingRates, 10 lines: demo rate table",
            _shipping_rates,
        ),
        Scenario(
            "cart.add",
            _CART_TARGETS,
            "CartService/AddToCart, 20-line carts: catalog re-read, row lock, outbox",
            _cart_add,
        ),
        Scenario(
            "cart.estimate",
            ("providers", "catalog", "shipping", "fees", "discounts", "cart"),
            "CartService/EstimateTotals, 20 lines: catalog, shipping and fee providers, pricing",
            _cart_estimate,
        ),
        Scenario(
            "cart.current_add",
            _CART_TARGETS,
            "CurrentCartService/AddToCurrentCart, 20-line carts: session lookup, then as cart.add",
            _current_add,
        ),
        Scenario(
            "cart.current_get",
            _CART_TARGETS,
            "CurrentCartService/GetCurrentCart, 20 lines: session, read, catalog (cached)",
            _current_get,
        ),
        Scenario(
            "fulfillment.list",
            _FULFILLMENT_TARGETS,
            "OrderFulfillmentsService/ListFulfillmentsForSingleOrder: auth, database read",
            _fulfillment_list,
        ),
        Scenario(
            "fulfillment.create_delete",
            _FULFILLMENT_TARGETS,
            "CreateFulfillment + DeleteFulfillment: GetOrder peer call, order lock, outbox (x2)",
            _fulfillment_create_delete,
        ),
    )
}


# --- orders.search -----------------------------------------------------------------------------

ORDERS_SEED_COUNT = 100_000
#: The page the scenario asks for: paid, unarchived orders (INITIALIZED hidden by default),
#: newest first, 50 per page; the hand-written query below is its SQL equivalent, fetching what
#: the service fetches: each order's document (the page) and sort values (the next page token),
#: and one row past the page (whether more follow).
_ORDERS_PAGE_SQL = (
    "SELECT document, created_at, id FROM orders WHERE site = ? AND status IN (2, 3) "
    "AND payment_status = 4 AND archived = 0 ORDER BY created_at DESC, id ASC LIMIT 51"
)


def _time_sql(path: str, site: str, rounds: int = 500) -> list[float]:
    """Latencies (ms) of the hand-written indexed query, straight through sqlite3."""
    import sqlite3
    import time

    connection = sqlite3.connect(path)
    try:
        latencies = []
        for _ in range(rounds):
            started = time.perf_counter()
            connection.execute(_ORDERS_PAGE_SQL, (site,)).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
        return sorted(latencies)
    finally:
        connection.close()


async def _time_sql_in_stack(config: Config, site: str, rounds: int = 300) -> list[float]:
    """Latencies (ms) of the hand-written query as the service runs SQL: a read-only unit of
    work of `services.platform.db.Database` (SQLAlchemy over aiosqlite)."""
    import time

    import sqlalchemy as sa

    from services.platform.db import Database

    database = Database.for_service(config, "orders")
    query = sa.text(_ORDERS_PAGE_SQL.replace("?", ":site"))

    async def page(session: AsyncSession) -> Sequence[sa.Row[Any]]:
        return (await session.execute(query, {"site": site})).all()

    try:
        latencies = []
        for _ in range(rounds):
            started = time.perf_counter()
            await database.run(page, readonly=True)
            latencies.append((time.perf_counter() - started) * 1000)
        return sorted(latencies)
    finally:
        await database.dispose()


async def _orders_search(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    import asyncio
    import time

    from ecom.orders.v1 import orders_service_pb2 as orders
    from services.orders.seed import seed, seeding_database

    site = "bench"
    # The server's own orders database (its migrations ran at start-up), on either backend.
    database = seeding_database(server.config)
    started = time.perf_counter()
    try:
        count = await seed(database, site, ORDERS_SEED_COUNT)
    finally:
        await database.dispose()
    seconds = time.perf_counter() - started
    auth = _auth(tokens)
    probe = await channel.unary_unary(
        "/ecom.orders.v1.OrdersService/SearchOrders",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=orders.SearchOrdersResponse.FromString,
    )(
        orders.SearchOrdersRequest(
            filter=orders.OrderFilter(numbers=[10000 + count], include_initialized=True)
        ),
        metadata=auth,
    )
    if len(probe.orders) != 1:
        raise RuntimeError("orders.search seeded a database that the server does not read")
    if server.backend != "embedded":
        # The hand-written comparison below is SQLite's SQL on SQLite's file.
        print(f"orders.search: seeded {count} orders in {seconds:.1f}s", flush=True)
        return await _orders_page(channel, orders, auth)
    sql = await asyncio.to_thread(_time_sql, str(server.data_dir / "orders.db"), site)
    stack = await _time_sql_in_stack(server.config, site)
    print(
        f"orders.search: seeded {count} orders in {seconds:.1f}s; the same page by hand-written "
        f"indexed SQL: sqlite3 p50 {sql[len(sql) // 2]:.3f} ms p99 "
        f"{sql[int(len(sql) * 0.99)]:.3f} ms; through the service's database layer "
        f"(SQLAlchemy + aiosqlite unit of work) p50 {stack[len(stack) // 2]:.3f} ms p99 "
        f"{stack[int(len(stack) * 0.99)]:.3f} ms",
        flush=True,
    )
    return await _orders_page(channel, orders, auth)


async def _orders_page(channel: grpc.aio.Channel, orders: Any, auth: Any) -> Prepared:
    from ecom.orders.v1 import order_pb2

    request = orders.SearchOrdersRequest(
        filter=orders.OrderFilter(payment_statuses=[order_pb2.PAYMENT_STATUS_PAID], archived=False),
        sort=[
            orders.OrderSort(
                field=orders.ORDER_SORT_FIELD_CREATED_DATE,
                order=2,  # SORT_ORDER_DESC
            )
        ],
        page_size=50,
    )
    return await _unary(
        channel,
        "/ecom.orders.v1.OrdersService/SearchOrders",
        request,
        orders.SearchOrdersResponse,
        auth,
    )


SCENARIOS["orders.search"] = Scenario(
    "orders.search",
    ("orders",),
    f"SearchOrders over {ORDERS_SEED_COUNT} seeded orders: paid, unarchived, newest first, 50",
    _orders_search,
)


# -- checkout (services/checkout) --------------------------------------------------------------

#: Checkouts the update scenario spreads its calls over, so that callers do not queue on one
#: checkout's turn.
_CHECKOUTS = 64
_CHECKOUT_LINES = 5
_CHECKOUT_TARGETS = (
    "providers",
    "catalog",
    "shipping",
    "fees",
    "validations",
    "discounts",
    "orders",
    "checkout",
)


async def _checkout_setup(channel: grpc.aio.Channel, tokens: TokenService) -> list[Any]:
    """5 products in the reference catalog (stock unlimited) and the line items of a checkout
    buying each once; checks that a purchase goes through before the load starts."""
    from ecom.catalog.v1 import catalog_admin_service_pb2 as admin
    from ecom.catalog.v1 import catalog_admin_service_pb2_grpc, product_pb2
    from ecom.common.v1 import line_item_pb2

    products = [
        product_pb2.Product(
            id=f"bench-checkout-{i}",
            name=f"Checkout product {i}",
            price=f"{i + 5}.50",
            weight="0.5",
            shippable=True,
        )
        for i in range(_CHECKOUT_LINES)
    ]
    await catalog_admin_service_pb2_grpc.CatalogAdminServiceStub(channel).UpsertProducts(
        admin.UpsertProductsRequest(products=products), metadata=_auth(tokens)
    )
    lines: list[Any] = []
    for product in products:
        line = line_item_pb2.LineItem(quantity=1)
        line.catalog_reference.catalog_item_id = product.id
        line.catalog_reference.app_id = "ecom.catalog"
        lines.append(line)
    return lines


def _checkout_request(lines: list[Any], n: int) -> Any:
    from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2
    from ecom.common.v1 import address_pb2, buyer_pb2, channel_pb2

    destination = address_pb2.AddressWithContact(
        address=address_pb2.Address(country="US", subdivision="US-NY", city="New York"),
        contact_details=address_pb2.ContactDetails(first_name="Bench", last_name=str(n)),
    )
    info = checkout_pb2.Checkout(
        buyer_info=buyer_pb2.BuyerInfo(email=f"bench-{n}@example.com"),
        billing_info=destination,
    )
    info.shipping_info.shipping_destination.CopyFrom(destination)
    return checkout_service_pb2.CreateCheckoutRequest(
        line_items=lines, checkout_info=info, channel_type=channel_pb2.CHANNEL_TYPE_WEB
    )


async def _checkout_update(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    """UpdateCheckout of a 5-line checkout (a new buyer note each time): a full recalculation
    (catalog, shipping, fees and validations providers, tax) and a write with its event."""
    from google.protobuf import field_mask_pb2

    from ecom.checkout.v1 import checkout_pb2, checkout_service_pb2, checkout_service_pb2_grpc

    lines = await _checkout_setup(channel, tokens)
    stub = checkout_service_pb2_grpc.CheckoutServiceStub(channel)
    shoppers = []
    for n in range(_CHECKOUTS):
        token = tokens.mint(role=Role.VISITOR, site="bench", subject=f"bench-buyer-{n}")
        metadata = (("authorization", f"Bearer {token}"),)
        created = await stub.CreateCheckout(_checkout_request(lines, n), metadata=metadata)
        shoppers.append((created.checkout.id, metadata))
    turn = 0

    async def call() -> object:
        nonlocal turn
        checkout_id, metadata = shoppers[turn % len(shoppers)]
        turn += 1
        return await stub.UpdateCheckout(
            checkout_service_pb2.UpdateCheckoutRequest(
                checkout=checkout_pb2.Checkout(id=checkout_id, buyer_note=f"note {turn}"),
                update_mask=field_mask_pb2.FieldMask(paths=["buyer_note"]),
            ),
            metadata=metadata,
        )

    first = await call()
    assert isinstance(first, checkout_service_pb2.UpdateCheckoutResponse)
    if first.checkout.HasField("calculation_errors"):
        print(f"checkout.update: calculation errors: {first.checkout.calculation_errors}")
    request = checkout_service_pb2.UpdateCheckoutRequest(
        checkout=checkout_pb2.Checkout(id=shoppers[0][0], buyer_note="note 1")
    )
    return Prepared(call, request.ByteSize(), first.ByteSize())


async def _checkout_purchase(
    channel: grpc.aio.Channel, tokens: TokenService, server: Server
) -> Prepared:
    """A full purchase per call: CreateCheckout (5 lines, buyer, addresses; calculated) then
    CreateOrder (recalculation, stock reservation at the reference inventory, the order in the
    orders service, completion, commit). One call = one completed purchase."""
    from ecom.checkout.v1 import checkout_service_pb2, checkout_service_pb2_grpc

    lines = await _checkout_setup(channel, tokens)
    stub = checkout_service_pb2_grpc.CheckoutServiceStub(channel)
    turn = 0

    async def call() -> object:
        nonlocal turn
        turn += 1
        token = tokens.mint(role=Role.VISITOR, site="bench", subject=f"bench-buyer-{turn}")
        metadata = (("authorization", f"Bearer {token}"),)
        created = await stub.CreateCheckout(_checkout_request(lines, turn), metadata=metadata)
        return await stub.CreateOrder(
            checkout_service_pb2.CreateOrderRequest(id=created.checkout.id), metadata=metadata
        )

    try:
        first = await call()
    except grpc.aio.AioRpcError as exc:
        raise RuntimeError(f"checkout.purchase: a purchase failed: {exc.details()}") from exc
    assert isinstance(first, checkout_service_pb2.CreateOrderResponse)
    return Prepared(call, _checkout_request(lines, 0).ByteSize(), first.ByteSize())


SCENARIOS["checkout.update"] = Scenario(
    "checkout.update",
    _CHECKOUT_TARGETS,
    "UpdateCheckout, 5 lines: recalculation with 4 provider kinds, tax, write + event",
    _checkout_update,
)
SCENARIOS["checkout.purchase"] = Scenario(
    "checkout.purchase",
    _CHECKOUT_TARGETS,
    "CreateCheckout + CreateOrder: a full purchase (reservation, order, commit) per call",
    _checkout_purchase,
)


# Scenarios kept in their own modules add themselves to SCENARIOS when imported.
import bench.scenarios_discounts  # noqa: E402, F401

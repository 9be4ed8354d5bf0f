"""Who may call which RPC: the suite's one access table.

Each service lists the roles allowed by default, with per-RPC exceptions. An RPC that is not
covered here is refused (PERMISSION_DENIED), so a new RPC is closed until it is declared.
Ownership (a visitor reaches only their own cart) is checked by the service on top of this.
Health and reflection need no token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.platform.identity import EVERYONE, STAFF, Role

PUBLIC_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)


@dataclass(frozen=True)
class ServicePolicy:
    default: frozenset[Role]
    rpcs: dict[str, frozenset[Role]] = field(default_factory=dict)

    def roles_for(self, rpc: str) -> frozenset[Role]:
        return self.rpcs.get(rpc, self.default)


ACCESS: dict[str, ServicePolicy] = {
    "ecom.cart.v1.CartService": ServicePolicy(EVERYONE),
    "ecom.cart.v1.CurrentCartService": ServicePolicy(EVERYONE),
    # Buyers reach their own checkouts (the service checks ownership); the URL override and
    # completing without an order are back-office operations.
    "ecom.checkout.v1.CheckoutService": ServicePolicy(
        EVERYONE, {"RemoveOverrideCheckoutUrl": STAFF, "MarkCheckoutAsCompleted": STAFF}
    ),
    "ecom.checkout.v1.AbandonedCheckoutService": ServicePolicy(STAFF),
    "ecom.orders.v1.OrdersService": ServicePolicy(
        STAFF, {"GetOrder": EVERYONE, "SearchOrders": EVERYONE}
    ),
    "ecom.orders.v1.OrderTransactionsService": ServicePolicy(STAFF),
    # Buyers list fulfillments of their own orders (the service checks ownership).
    "ecom.fulfillment.v1.OrderFulfillmentsService": ServicePolicy(
        STAFF,
        {"ListFulfillmentsForSingleOrder": EVERYONE, "ListFulfillmentsForMultipleOrders": EVERYONE},
    ),
    # Usage counting belongs to the order-placement saga; site settings to the merchant.
    "ecom.discounts.v1.DiscountRulesService": ServicePolicy(
        STAFF,
        {
            "ReserveDiscountUsage": frozenset({Role.SERVICE}),
            "ReleaseDiscountUsage": frozenset({Role.SERVICE}),
            "RecordDiscountUsage": frozenset({Role.SERVICE}),
            "UpdateDiscountSettings": frozenset({Role.ADMIN}),
        },
    ),
    "ecom.discounts.v1.CouponsService": ServicePolicy(STAFF),
    "ecom.recommendations.v1.RecommendationsService": ServicePolicy(EVERYONE),
    "ecom.events.v1.EventsService": ServicePolicy(STAFF),
    # Services read the registry to find a site's providers; only admins change it.
    "ecom.providers.v1.ProviderRegistryService": ServicePolicy(
        frozenset({Role.ADMIN}), {"ListProviders": STAFF, "GetProvider": STAFF}
    ),
    # Providers are called by the suite (service role), never by buyers.
    "ecom.spi.catalog.v1.CatalogProviderService": ServicePolicy(STAFF),
    "ecom.spi.inventory.v1.InventoryProviderService": ServicePolicy(STAFF),
    "ecom.spi.additional_fees.v1.AdditionalFeesProviderService": ServicePolicy(STAFF),
    "ecom.spi.shipping_rates.v1.ShippingRatesProviderService": ServicePolicy(STAFF),
    "ecom.spi.validations.v1.ValidationsProviderService": ServicePolicy(STAFF),
    "ecom.spi.recommendations.v1.RecommendationsProviderService": ServicePolicy(STAFF),
    "ecom.spi.discount_triggers.v1.DiscountTriggersProviderService": ServicePolicy(STAFF),
    "ecom.catalog.v1.CatalogAdminService": ServicePolicy(STAFF),
}


def split_method(full_method: str) -> tuple[str, str]:
    """'/pkg.Service/Rpc' -> ('pkg.Service', 'Rpc')."""
    service, _, rpc = full_method.lstrip("/").partition("/")
    return service, rpc


def is_public(full_method: str) -> bool:
    return split_method(full_method)[0] in PUBLIC_SERVICES


def allowed_roles(full_method: str) -> frozenset[Role]:
    service, rpc = split_method(full_method)
    policy = ACCESS.get(service)
    return policy.roles_for(rpc) if policy else frozenset()

"""Every service and RPC that ../shared/CONTRACT.md names, transcribed as data.

Clients, tests and other languages depend on these exact names. Each RPC takes `<Rpc>Request` and
returns `<Rpc>Response` from the service's own package (buf STANDARD, docs/contracts.md). All RPCs
are unary except those in SERVER_STREAMING. Keep this in step with CONTRACT.md: an RPC added
there is added here, and the contract tests then require it in proto/ and gen/.
"""

from __future__ import annotations

EXPECTED_RPCS: dict[str, tuple[str, ...]] = {
    # ecom.cart.v1
    "ecom.cart.v1.CartService": (
        "CreateCart",
        "GetCart",
        "UpdateCart",
        "AddToCart",
        "RemoveLineItems",
        "UpdateLineItemsQuantity",
        "EstimateTotals",
        "RemoveCoupon",
        "CreateCheckout",
        "DeleteCart",
        "GetCartByCheckoutId",
    ),
    "ecom.cart.v1.CurrentCartService": (
        "GetCurrentCart",
        "UpdateCurrentCart",
        "AddToCurrentCart",
        "RemoveLineItemsFromCurrentCart",
        "UpdateCurrentCartLineItemQuantity",
        "EstimateCurrentCartTotals",
        "CreateCheckoutFromCurrentCart",
        "RemoveCouponFromCurrentCart",
        "DeleteCurrentCart",
        "MergeCurrentCart",
    ),
    # ecom.checkout.v1
    "ecom.checkout.v1.CheckoutService": (
        "CreateCheckout",
        "GetCheckout",
        "UpdateCheckout",
        "AddToCheckout",
        "RemoveLineItems",
        "UpdateLineItemsQuantity",
        "RemoveCoupon",
        "RemoveGiftCard",
        "RemoveOverrideCheckoutUrl",
        "GetCheckoutUrl",
        "MarkCheckoutAsCompleted",
        "CreateOrder",
    ),
    "ecom.checkout.v1.AbandonedCheckoutService": (
        "GetAbandonedCheckout",
        "QueryAbandonedCheckouts",
        "GetAbandonedCheckoutRecoveryUrl",
    ),
    # ecom.orders.v1
    "ecom.orders.v1.OrdersService": (
        "CreateOrder",
        "GetOrder",
        "SearchOrders",
        "UpdateOrder",
        "BulkUpdateOrders",
        "CancelOrder",
        "ApproveOrder",
        "UpdateOrderLineItem",
        "AddActivity",
        "AddActivities",
        "UpdateActivity",
        "DeleteActivity",
        "AggregateOrders",
        "BulkUpdateOrderTags",
        "ArchiveOrder",
        "UnarchiveOrder",
    ),
    "ecom.orders.v1.OrderTransactionsService": (
        "ListTransactionsForSingleOrder",
        "ListTransactionsForMultipleOrders",
        "AddPayments",
        "UpdatePaymentStatus",
        "BulkUpdatePaymentStatuses",
        "AddRefund",
    ),
    # ecom.fulfillment.v1
    "ecom.fulfillment.v1.OrderFulfillmentsService": (
        "ListFulfillmentsForSingleOrder",
        "ListFulfillmentsForMultipleOrders",
        "CreateFulfillment",
        "UpdateFulfillment",
        "DeleteFulfillment",
        "BulkCreateFulfillments",
    ),
    # ecom.discounts.v1
    "ecom.discounts.v1.DiscountRulesService": (
        "CreateDiscountRule",
        "GetDiscountRule",
        "UpdateDiscountRule",
        "DeleteDiscountRule",
        "QueryDiscountRules",
        "GetAppliedDiscounts",
    ),
    "ecom.discounts.v1.CouponsService": (
        "CreateCoupon",
        "GetCoupon",
        "QueryCoupons",
        "UpdateCoupon",
        "DeleteCoupon",
    ),
    # ecom.recommendations.v1
    "ecom.recommendations.v1.RecommendationsService": (
        "GetRecommendation",
        "ListAvailableAlgorithms",
    ),
    # ecom.events.v1 (beyond Wix)
    "ecom.events.v1.EventsService": (
        "Subscribe",
        "ListEvents",
    ),
    # ecom.providers.v1 (beyond Wix)
    "ecom.providers.v1.ProviderRegistryService": (
        "RegisterProvider",
        "GetProvider",
        "ListProviders",
        "UpdateProvider",
        "DeleteProvider",
        "CheckProvider",
    ),
    # SPIs: what providers implement
    "ecom.spi.catalog.v1.CatalogProviderService": ("GetCatalogItems",),
    "ecom.spi.additional_fees.v1.AdditionalFeesProviderService": ("CalculateAdditionalFees",),
    "ecom.spi.shipping_rates.v1.ShippingRatesProviderService": ("GetShippingRates",),
    "ecom.spi.validations.v1.ValidationsProviderService": ("GetValidationViolations",),
    "ecom.spi.inventory.v1.InventoryProviderService": (
        "ReserveInventory",
        "ReleaseInventory",
        "CommitInventory",
    ),
    "ecom.spi.recommendations.v1.RecommendationsProviderService": (
        "ListAlgorithms",
        "GetRecommendations",
    ),
    "ecom.spi.discount_triggers.v1.DiscountTriggersProviderService": (
        "ListTriggers",
        "GetEligibleTriggers",
    ),
}

# (service, rpc) pairs that stream responses from the server; every other RPC is unary.
SERVER_STREAMING: frozenset[tuple[str, str]] = frozenset(
    {("ecom.events.v1.EventsService", "Subscribe")}
)


def package_of(service: str) -> str:
    """`ecom.cart.v1.CartService` -> `ecom.cart.v1`."""
    return service.rsplit(".", 1)[0]


def expected_methods(service: str) -> dict[str, tuple[str, str, bool]]:
    """RPC name -> (request type, response type, server streaming) for one service."""
    package = package_of(service)
    return {
        rpc: (
            f"{package}.{rpc}Request",
            f"{package}.{rpc}Response",
            (service, rpc) in SERVER_STREAMING,
        )
        for rpc in EXPECTED_RPCS[service]
    }

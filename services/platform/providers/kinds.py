"""The provider kinds: which SPI a provider implements, without importing generated code.

The numbers are those of `ecom.providers.v1.ProviderKind`, so a kind converts to and from the
proto enum with `int()` / `Kind(value)`; the domain and the config-file reader use this enum and
stay free of protobuf.
"""

from __future__ import annotations

import enum


class Kind(enum.IntEnum):
    CATALOG = 1
    ADDITIONAL_FEES = 2
    SHIPPING_RATES = 3
    VALIDATIONS = 4
    INVENTORY = 5
    RECOMMENDATIONS = 6
    DISCOUNT_TRIGGERS = 7

    @property
    def slug(self) -> str:
        """The SPI's package segment: `shipping_rates` for `ecom.spi.shipping_rates.v1`."""
        return self.name.lower()

    @property
    def service_name(self) -> str:
        """The full name of the SPI's gRPC service, as health checks know it."""
        return f"ecom.spi.{self.slug}.v1.{_SERVICE_STEMS[self]}ProviderService"

    def method(self, rpc: str) -> str:
        """The full method path of one of the SPI's RPCs, as `ProviderClient.call` takes it."""
        return f"/{self.service_name}/{rpc}"

    @classmethod
    def parse(cls, text: str) -> Kind:
        """Accept `shipping_rates`, `SHIPPING_RATES` or `PROVIDER_KIND_SHIPPING_RATES`."""
        name = text.strip().upper().removeprefix("PROVIDER_KIND_")
        try:
            return cls[name]
        except KeyError:
            known = ", ".join(kind.slug for kind in cls)
            raise ValueError(f"unknown provider kind {text!r} (known: {known})") from None


_SERVICE_STEMS = {
    Kind.CATALOG: "Catalog",
    Kind.ADDITIONAL_FEES: "AdditionalFees",
    Kind.SHIPPING_RATES: "ShippingRates",
    Kind.VALIDATIONS: "Validations",
    Kind.INVENTORY: "Inventory",
    Kind.RECOMMENDATIONS: "Recommendations",
    Kind.DISCOUNT_TRIGGERS: "DiscountTriggers",
}

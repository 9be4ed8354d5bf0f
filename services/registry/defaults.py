"""The reference providers `ecom serve` registers for every site when no providers file is set.

Without `ECOM_PROVIDERS_FILE`, the registry lists, for every site (`"*"`), the reference
providers that are actually served: those whose target runs in this process, or whose address is
configured (`ECOM_<TARGET>_ADDR`). Each is a read-only config-file entry with target `@<target>`,
exactly as if the file held it; a providers file, when set, replaces this list entirely.

The targets of the process are the runtime's `local_targets`, set by the server before any
service is bound.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from services.platform.providers.config_file import (
    ALL_SITES,
    ConfiguredProvider,
    ConfiguredProviders,
)
from services.platform.providers.kinds import Kind

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

#: Per reference target: the (kind, app id) registrations it serves. The catalog serves the
#: inventory SPI under the same app id, since inventory routing follows the catalog reference's
#: app id.
REFERENCE_PROVIDERS: dict[str, tuple[tuple[Kind, str], ...]] = {
    "catalog": ((Kind.CATALOG, "ecom.catalog"), (Kind.INVENTORY, "ecom.catalog")),
    "shipping": ((Kind.SHIPPING_RATES, "ecom.shipping"),),
    "fees": ((Kind.ADDITIONAL_FEES, "ecom.fees"),),
    "validations": ((Kind.VALIDATIONS, "ecom.validations"),),
}


def served_targets(runtime: Runtime) -> frozenset[str]:
    """The reference targets reachable from this process: bound here, or at a configured
    address."""
    return frozenset(
        name
        for name in REFERENCE_PROVIDERS
        if name in runtime.local_targets or runtime.config.peer_address(name) is not None
    )


def default_providers(served: Collection[str]) -> ConfiguredProviders:
    """The `"*"` registrations of the served reference targets."""
    return ConfiguredProviders(
        [
            ConfiguredProvider(site=ALL_SITES, kind=kind, app_id=app_id, target=f"@{name}")
            for name, registrations in REFERENCE_PROVIDERS.items()
            if name in served
            for kind, app_id in registrations
        ]
    )

"""The reference providers `ecom serve` registers for every site when no providers file is set.

Without `ECOM_PROVIDERS_FILE`, the registry lists, for every site (`"*"`), the reference
providers that are actually served: those whose target runs in this process, or whose address is
configured (`ECOM_<TARGET>_ADDR`). Each is a read-only config-file entry with target `@<target>`,
exactly as if the file held it; a providers file, when set, replaces this list entirely.

A reference target announces that it runs in the process with `announce_local_target` when it is
bound. The registry binds before the providers (start-up order), so it reads the announcements
lazily, at its first request, when every target of the process is bound.
"""

from __future__ import annotations

import weakref
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

_LOCAL_TARGETS: weakref.WeakKeyDictionary[Runtime, set[str]] = weakref.WeakKeyDictionary()


def announce_local_target(runtime: Runtime, target: str) -> None:
    """Record that the reference provider `target` is bound in the process of `runtime`."""
    _LOCAL_TARGETS.setdefault(runtime, set()).add(target)


def served_targets(runtime: Runtime) -> frozenset[str]:
    """The reference targets reachable from this process: bound here, or at a configured
    address."""
    local = _LOCAL_TARGETS.get(runtime, set())
    return frozenset(
        name
        for name in REFERENCE_PROVIDERS
        if name in local or runtime.config.peer_address(name) is not None
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

"""The service targets of `ecom serve`, by name, in start-up order.

A target is a package exposing `MODULE: ServiceModule`. Targets whose package is not built yet
are left out of the default set, so their RPCs answer UNIMPLEMENTED rather than pretending.
"""

from __future__ import annotations

import importlib

from services.platform.config import SERVICE_NAMES
from services.platform.module import ServiceModule

PACKAGES: dict[str, str] = {
    "events": "services.events",
    "providers": "services.registry",
    "catalog": "services.providers.catalog",
    "shipping": "services.providers.shipping",
    "fees": "services.providers.fees",
    "validations": "services.providers.validations",
    "discounts": "services.discounts",
    "orders": "services.orders",
    "fulfillment": "services.fulfillment",
    "cart": "services.cart",
    "checkout": "services.checkout",
    "recommendations": "services.recommendations",
}
assert tuple(PACKAGES) == SERVICE_NAMES


class UnknownTarget(Exception):
    pass


def load(name: str) -> ServiceModule:
    if name not in PACKAGES:
        raise UnknownTarget(f"unknown service {name!r}; known: {', '.join(PACKAGES)}")
    try:
        package = importlib.import_module(PACKAGES[name])
    except ModuleNotFoundError as exc:
        if exc.name and PACKAGES[name].startswith(exc.name):
            raise UnknownTarget(f"service {name!r} is not built yet") from exc
        raise
    module: ServiceModule | None = getattr(package, "MODULE", None)
    if module is None:
        raise UnknownTarget(f"service {name!r} is not built yet (no MODULE)")
    return module


def available() -> list[str]:
    """Every target whose package exists, in start-up order."""
    names = []
    for name in PACKAGES:
        try:
            load(name)
        except UnknownTarget:
            continue
        names.append(name)
    return names

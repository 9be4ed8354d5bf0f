"""Checks against the site's provider registrations: the apps a rule or coupon names must exist.

- A CATALOG_ITEM scope's `catalog_app_id` must be a registered catalog provider of the site,
  otherwise the scope could never match a line (carts only hold items of registered catalogs):
  INVALID_ARGUMENT with a field violation on the app id.
- A custom trigger's `app_id` must be a registered discount-triggers provider of the site:
  FAILED_PRECONDITION (DISCOUNT_TRIGGER_PROVIDER_NOT_FOUND), as the contract says.
The registry is asked through the shared `ProviderClient` (cached for a few seconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.discounts.domain.model import CustomTrigger, Scope, ScopeKind
from services.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument
from services.platform.providers.client import ProviderClient
from services.platform.providers.kinds import Kind


class AppChecks:
    def __init__(self, providers: ProviderClient) -> None:
        self._providers = providers

    async def _apps(self, site: str, kind: Kind) -> set[str]:
        return {ref.app_id for ref in await self._providers.providers(site, kind)}

    async def check_scopes(
        self, site: str, prefix: str, located: Sequence[tuple[str, Scope]]
    ) -> None:
        catalog = [(p, s) for p, s in located if s.kind is ScopeKind.CATALOG_ITEM]
        if not catalog:
            return
        known = await self._apps(site, Kind.CATALOG)
        unknown = [
            FieldViolation(
                f"{prefix}{path}.catalog_item.catalog_app_id",
                f"{scope.app_id!r} is not a registered catalog provider of this site",
            )
            for path, scope in catalog
            if scope.app_id not in known
        ]
        if unknown:
            raise InvalidArgument(unknown)

    async def check_trigger_providers(self, site: str, triggers: Iterable[CustomTrigger]) -> None:
        wanted = sorted({trigger.app_id for trigger in triggers})
        if not wanted:
            return
        known = await self._apps(site, Kind.DISCOUNT_TRIGGERS)
        missing = [app for app in wanted if app not in known]
        if missing:
            raise FailedPrecondition(
                "DISCOUNT_TRIGGER_PROVIDER_NOT_FOUND",
                f"{missing[0]!r} is not a registered discount-triggers provider of this site",
                metadata={"app_id": missing[0]},
            )

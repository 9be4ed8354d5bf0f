"""What GetCatalogItems needs to know of one product id, read at one moment: the product (if
there is one), its stock rows and the reservation holds on them with their expiry.

Holds are kept with their `held_until` instead of as a sum, so a snapshot answers correctly at
any later time (a hold stops counting the moment it expires, exactly as a fresh read would find):
that is what lets the catalog keep snapshots until the database changes (`ReadCache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.providers.catalog.domain import Product, StockKey, WeightUnit
from services.providers.catalog.items import ItemData, item_data
from services.providers.catalog.references import Ref, Resolved, resolve
from services.providers.catalog.stock import Stock

#: (held_until, units) of each unexpired hold on a stock.
Holds = tuple[tuple[datetime, int], ...]
#: Distinct references a snapshot remembers the resolution of (callers choose the references).
MAX_REMEMBERED_REFERENCES = 1000


@dataclass(frozen=True)
class ProductSnapshot:
    """`product` None: no product has this id on the site (so references to it are unknown)."""

    product: Product | None
    stock: Mapping[StockKey, Stock] = field(default_factory=dict)
    holds: Mapping[StockKey, Holds] = field(default_factory=dict)
    # Answers already worked out from this snapshot: it never changes, so they stay right for
    # as long as it is used (a cached snapshot answers the same references again and again).
    _resolved: dict[tuple[str, str], Resolved | None] = field(
        default_factory=dict, compare=False, repr=False
    )
    _items: dict[tuple[str, WeightUnit, int | None], ItemData] = field(
        default_factory=dict, compare=False, repr=False
    )

    def level(self, key: StockKey, now: datetime) -> tuple[Stock, int]:
        """The stock of `key` (unlimited when never set) and the units held on it at `now`."""
        row = self.stock.get(key) or Stock(key)
        held = sum(units for until, units in self.holds.get(key, ()) if until > now)
        return row, held

    def resolve(self, ref: Ref, app_id: str) -> Resolved | None:
        """`resolve` for a reference to this snapshot's product id."""
        key = (ref.key, app_id)
        if key in self._resolved:
            return self._resolved[key]
        products = {} if self.product is None else {self.product.id: self.product}
        found = resolve(ref, app_id, products)
        if len(self._resolved) < MAX_REMEMBERED_REFERENCES:
            self._resolved[key] = found
        return found

    def item(
        self, resolved: Resolved, weight_unit: WeightUnit, quantity_available: int | None
    ) -> ItemData:
        """`item_data` of a reference that resolved to this snapshot's product."""
        key = (resolved.variant.id if resolved.variant else "", weight_unit, quantity_available)
        found = self._items.get(key)
        if found is None:
            found = self._items[key] = item_data(resolved, weight_unit, quantity_available)
        return found

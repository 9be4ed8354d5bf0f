"""Discounts asked before a write's transaction and answered again inside it without a call.

A cart write shows the cart with its discounts, and its cart_updated event carries that message,
so the discounts service is asked while the write's transaction is open: on SQLite that holds
the database's only write lock, on PostgreSQL the cart's row lock and a pooled connection,
for the length of a gRPC round trip. The write already predicts its result outside the
transaction (to read the catalog, see `services.cart.service`); asking the discounts service
about the prediction there too, `Remembered` answers the same question inside the transaction
from memory. A different question (a concurrent writer changed the cart meanwhile) is asked
for real, so the answer is always the one for the cart as written.
"""

from __future__ import annotations

from services.cart.discounts import Discounts, DiscountsResult
from services.discounts.client import DiscountsQuery


class Remembered:
    """A `Discounts` that remembers its last successful answer, for the same site and query."""

    def __init__(self, inner: Discounts) -> None:
        self._inner = inner
        self._known: tuple[str, DiscountsQuery, DiscountsResult] | None = None

    async def evaluate(
        self, site: str, query: DiscountsQuery, *, remaining_s: float | None
    ) -> DiscountsResult:
        known = self._known
        if known is not None and known[0] == site and known[1] == query:
            return known[2]
        result = await self._inner.evaluate(site, query, remaining_s=remaining_s)
        # A failed call is not remembered: the next question asks again.
        self._known = None if result.discounts_error is not None else (site, query, result)
        return result

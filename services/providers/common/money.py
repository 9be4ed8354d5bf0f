"""The currency rule shared by the reference providers' settings."""

from __future__ import annotations

from services.platform.errors import FailedPrecondition

CURRENCY_NOT_SUPPORTED = "CURRENCY_NOT_SUPPORTED"


def check_currency(settings_currency: str | None, requested: str) -> None:
    """Settings that name their currency price only in it: another currency is refused
    (FAILED_PRECONDITION, as the SPIs say) rather than converted or silently mislabelled.
    Settings without a currency are read in whatever currency the request uses."""
    if settings_currency is not None and settings_currency != requested:
        raise FailedPrecondition(
            CURRENCY_NOT_SUPPORTED,
            f"the provider's settings are in {settings_currency}; it cannot price in {requested}",
            metadata={"currency": requested, "settings_currency": settings_currency},
        )

"""The settings the checkout service runs with.

Store settings (currency, languages, weight unit, tax table, exchange rates) are the ones carts
are created with: `services.platform.sites.SiteDirectory` reads and checks them (ECOM_CURRENCY ...
and the per-site ECOM_SITE_SETTINGS), so a cart and its checkout always agree.

The checkout's own settings come from the configuration under these keys (ECOM_ variables once
declared in `services.platform.config`; until then only a Config built with `with_overrides`
sets them, and the defaults below apply):

| key | default | meaning |
| --- | --- | --- |
| CHECKOUT_URL_TEMPLATE | unset | the site's checkout page, `{checkout_id}` filled in |
| CHECKOUT_RECOVERY_URL_TEMPLATE | unset | the link of abandoned-checkout reminders |
| CHECKOUT_RECOVERY_TOKEN_TTL_S | 604800 (7 days) | lifetime of a recovery token |
| CHECKOUT_RESERVATION_TIMEOUT_S | 900 (15 min) | when the background job finishes a placement |
| ABANDONED_AFTER_S | 3600 | idle time before a checkout counts as abandoned |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.platform.config import Config, ConfigError

DEFAULT_RECOVERY_TOKEN_TTL_S = 7 * 24 * 3600
DEFAULT_RESERVATION_TIMEOUT_S = 15 * 60
#: The whole provider budget of one recalculation when the caller sets no deadline.
DEFAULT_CALCULATION_BUDGET_S = 8.0


@dataclass(frozen=True)
class CheckoutSettings:
    url_template: str | None = None
    recovery_url_template: str | None = None
    recovery_token_ttl_s: int = DEFAULT_RECOVERY_TOKEN_TTL_S
    reservation_timeout_s: float = DEFAULT_RESERVATION_TIMEOUT_S
    abandoned_after_s: float = 3600.0
    calculation_budget_s: float = DEFAULT_CALCULATION_BUDGET_S

    @property
    def sweep_interval_s(self) -> float:
        """How often the sweeper looks for idle checkouts: a quarter of the idle time, so a
        checkout is found at most 25% late, between 0.2 s and 30 s."""
        return min(max(self.abandoned_after_s / 4, 0.2), 30.0)

    @property
    def lease_period_s(self) -> float:
        """How often the sweeper renews its deployment lease (which lasts three periods)."""
        return min(self.sweep_interval_s, 2.0)

    @property
    def finisher_interval_s(self) -> float:
        """How often unfinished placements and owed commits are looked at."""
        return min(max(self.reservation_timeout_s / 10, 0.2), 30.0)

    @classmethod
    def from_config(cls, config: Config) -> CheckoutSettings:
        values = config.values
        return cls(
            url_template=_template(values, "CHECKOUT_URL_TEMPLATE"),
            recovery_url_template=_template(values, "CHECKOUT_RECOVERY_URL_TEMPLATE"),
            recovery_token_ttl_s=int(
                _positive(values, "CHECKOUT_RECOVERY_TOKEN_TTL_S", DEFAULT_RECOVERY_TOKEN_TTL_S)
            ),
            reservation_timeout_s=_positive(
                values, "CHECKOUT_RESERVATION_TIMEOUT_S", DEFAULT_RESERVATION_TIMEOUT_S
            ),
            abandoned_after_s=_positive(values, "ABANDONED_AFTER_S", 3600),
        )


def _template(values: Any, key: str) -> str | None:
    raw = values.get(key)
    if raw is None or raw == "":
        return None
    text = str(raw)
    if not text.startswith(("http://", "https://")):
        raise ConfigError(f"ECOM_{key}: must be an absolute http(s) URL template")
    return text


def _positive(values: Any, key: str, default: float) -> float:
    raw = values.get(key)
    if raw is None:
        return float(default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"ECOM_{key}: must be a positive number") from None
    if value <= 0:
        raise ConfigError(f"ECOM_{key}: must be a positive number")
    return value

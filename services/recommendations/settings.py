"""The settings the recommendations service runs with.

They come from the configuration under these keys (ECOM_ variables once declared in
`services.platform.config`; until then only a Config built with `with_overrides` sets them, and
the defaults below apply):

- RECOMMENDATIONS_TOGETHER_WINDOW_DAYS (90): FREQUENTLY_BOUGHT_TOGETHER counts the orders of
  this many UTC days, today included.
- RECOMMENDATIONS_BEST_SELLERS_WINDOW_DAYS (30): the same for BEST_SELLERS.
- RECOMMENDATIONS_CATALOG_CACHE_S (5): how long an identical GetCatalogItems answer is reused
  (0: never).
- RECOMMENDATIONS_PROVIDER_CACHE_S (60): how long a provider's ListAlgorithms answer and an
  identical GetRecommendations answer are reused (0: never; at most 60, as the contracts allow).
- RECOMMENDATIONS_PURGE_INTERVAL_S (3600): how often statistics older than both windows are
  deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.platform.config import Config, ConfigError

#: The contracts let ListAvailableAlgorithms reuse a provider's algorithm list for up to 60 s and
#: GetRecommendation reuse an identical provider answer for up to a minute.
MAX_PROVIDER_CACHE_S = 60.0


@dataclass(frozen=True)
class RecommendationSettings:
    together_window_days: int = 90
    best_sellers_window_days: int = 30
    catalog_cache_s: float = 5.0
    provider_cache_s: float = MAX_PROVIDER_CACHE_S
    purge_interval_s: float = 3600.0

    @property
    def retention_days(self) -> int:
        """Statistics older than this are never read again (the longer window, plus a day of
        margin for a clock that crosses midnight between a read and the purge)."""
        return max(self.together_window_days, self.best_sellers_window_days) + 1

    @classmethod
    def from_config(cls, config: Config) -> RecommendationSettings:
        values = config.values
        return cls(
            together_window_days=_days(values, "RECOMMENDATIONS_TOGETHER_WINDOW_DAYS", 90),
            best_sellers_window_days=_days(values, "RECOMMENDATIONS_BEST_SELLERS_WINDOW_DAYS", 30),
            catalog_cache_s=_seconds(values, "RECOMMENDATIONS_CATALOG_CACHE_S", 5.0),
            provider_cache_s=min(
                _seconds(values, "RECOMMENDATIONS_PROVIDER_CACHE_S", MAX_PROVIDER_CACHE_S),
                MAX_PROVIDER_CACHE_S,
            ),
            purge_interval_s=_seconds(values, "RECOMMENDATIONS_PURGE_INTERVAL_S", 3600.0) or 3600.0,
        )


def _days(values: Mapping[str, Any], key: str, default: int) -> int:
    raw = values.get(key)
    if raw is None:
        return default
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"ECOM_{key}: must be a whole number of days") from None
    if not 1 <= days <= 3650:
        raise ConfigError(f"ECOM_{key}: must be 1..3650 days")
    return days


def _seconds(values: Mapping[str, Any], key: str, default: float) -> float:
    raw = values.get(key)
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"ECOM_{key}: must be a number of seconds") from None
    if seconds < 0:
        raise ConfigError(f"ECOM_{key}: must not be negative")
    return seconds

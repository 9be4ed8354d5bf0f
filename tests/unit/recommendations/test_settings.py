"""Recommendation settings: defaults, overrides, and refusals of bad values."""

from __future__ import annotations

import pytest

from services.platform.config import ConfigError, load_config
from services.recommendations.settings import RecommendationSettings


def test_defaults() -> None:
    settings = RecommendationSettings.from_config(load_config({}))
    assert settings == RecommendationSettings()
    assert (settings.together_window_days, settings.best_sellers_window_days) == (90, 30)
    assert settings.retention_days == 91


def test_overrides_and_the_provider_cache_ceiling() -> None:
    config = load_config({}).with_overrides(
        RECOMMENDATIONS_TOGETHER_WINDOW_DAYS="14",
        RECOMMENDATIONS_BEST_SELLERS_WINDOW_DAYS=120,
        RECOMMENDATIONS_CATALOG_CACHE_S=0,
        RECOMMENDATIONS_PROVIDER_CACHE_S="600",
    )
    settings = RecommendationSettings.from_config(config)
    assert settings.together_window_days == 14
    assert settings.best_sellers_window_days == 120
    assert settings.retention_days == 121
    assert settings.catalog_cache_s == 0
    assert settings.provider_cache_s == 60


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("RECOMMENDATIONS_TOGETHER_WINDOW_DAYS", "0"),
        ("RECOMMENDATIONS_BEST_SELLERS_WINDOW_DAYS", "many"),
        ("RECOMMENDATIONS_CATALOG_CACHE_S", "-1"),
        ("RECOMMENDATIONS_PROVIDER_CACHE_S", "soon"),
    ],
)
def test_bad_values_stop_start_up_naming_the_setting(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        RecommendationSettings.from_config(load_config({}).with_overrides(**{key: value}))

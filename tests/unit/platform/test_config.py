import pytest

from services.platform.config import DEV_SECRET, ConfigError, describe_settings, load_config


def test_defaults_are_the_embedded_mode() -> None:
    config = load_config({})
    assert config.env == "dev"
    assert config.database_url is None
    assert config.redis_url is None
    assert config["PORT"] == 50051
    assert config.auth_secret == DEV_SECRET


def test_unknown_setting_stops_start_up_naming_it() -> None:
    with pytest.raises(ConfigError, match="ECOM_DATABSE_URL: unknown setting"):
        load_config({"ECOM_DATABSE_URL": "postgresql://x/y"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ECOM_PORT", "seventy", "ECOM_PORT='seventy'"),
        ("ECOM_PORT", "70000", "port number"),
        ("ECOM_WORKERS", "0", "positive integer"),
        ("ECOM_REDIS_URL", "localhost:6379", "must be a URL"),
        ("ECOM_ENV", "production", "'dev' or 'prod'"),
    ],
)
def test_malformed_values_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({name: value})


def test_prod_requires_a_real_secret() -> None:
    with pytest.raises(ConfigError, match="required outside dev mode"):
        load_config({"ECOM_ENV": "prod"})
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_config({"ECOM_ENV": "prod", "ECOM_AUTH_SECRET": "short"})
    with pytest.raises(ConfigError, match="required outside dev mode"):
        load_config({"ECOM_ENV": "prod", "ECOM_AUTH_SECRET": DEV_SECRET})
    config = load_config({"ECOM_ENV": "prod", "ECOM_AUTH_SECRET": "s" * 32})
    assert config.auth_secret == "s" * 32


def test_every_setting_is_documented() -> None:
    text = describe_settings()
    for name in ("ECOM_DATABASE_URL", "ECOM_REDIS_URL", "ECOM_AUTH_SECRET", "ECOM_CART_ADDR"):
        assert name in text

"""Configuration from `ECOM_*` environment variables: one table, documented defaults, strict.

Every setting the suite reads is declared in `SETTINGS`. An `ECOM_` variable that is not
declared, or a value that does not parse, stops start-up with a message naming the variable:
a typo must never silently fall back to a default.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.platform.inputs import is_language_tag

DEV_SECRET = "ecom-dev-secret-do-not-use-in-production"

#: The service targets `ecom serve --services` accepts, in start-up order.
SERVICE_NAMES = (
    "events",
    "providers",
    "catalog",
    "shipping",
    "fees",
    "validations",
    "discounts",
    "orders",
    "fulfillment",
    "cart",
    "checkout",
    "recommendations",
)


class ConfigError(Exception):
    """A setting is unknown or malformed; the message names it."""


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number 0..65535")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be a positive number")
    return value


def _env(raw: str) -> str:
    if raw not in ("dev", "prod"):
        raise ValueError("must be 'dev' or 'prod'")
    return raw


def _log_level(raw: str) -> str:
    value = raw.upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return value


def _url(raw: str) -> str:
    if "://" not in raw:
        raise ValueError("must be a URL such as postgresql://user@host/db or redis://host:6379/0")
    return raw


def _currency(raw: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", raw):
        raise ValueError("must be an ISO 4217 currency code such as USD")
    return raw


def _language(raw: str) -> str:
    if not is_language_tag(raw):
        raise ValueError("must be an IETF BCP 47 language tag such as en or de-AT")
    return raw


def _weight_unit(raw: str) -> str:
    value = raw.upper()
    if value not in ("KG", "LB"):
        raise ValueError("must be KG or LB")
    return value


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ValueError("must be true or false")


def _json_object(raw: str) -> dict[str, Any]:
    """A JSON object given inline, or `@<path>` naming a file that holds one."""
    text = raw
    if raw.startswith("@"):
        try:
            text = Path(raw[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read {raw[1:]}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


def _stacking(raw: str) -> str:
    if raw not in ("stack", "best_per_item"):
        raise ValueError("must be 'stack' or 'best_per_item'")
    return raw


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("ECOM_ENV", _env, "dev", "dev (embedded defaults, dev secret allowed) or prod."),
    Setting("ECOM_HOST", str, "127.0.0.1", "Address the gRPC server binds to."),
    Setting("ECOM_PORT", _port, "50051", "Port of the gRPC server (0 = pick a free one)."),
    Setting("ECOM_WORKERS", _positive_int, "1", "Worker processes sharing the port."),
    Setting("ECOM_DATA_DIR", str, ".ecom", "Where embedded SQLite files live."),
    Setting(
        "ECOM_DATABASE_URL",
        _url,
        None,
        "PostgreSQL URL; each service uses its own schema. Unset: SQLite per service.",
    ),
    Setting("ECOM_REDIS_URL", _url, None, "Redis URL for sessions and events. Unset: in-process."),
    Setting("ECOM_KEY_PREFIX", str, "ecom:", "Prefix of every Redis key the suite writes."),
    Setting("ECOM_AUTH_SECRET", str, None, "HS256 secret for bearer tokens (required in prod)."),
    Setting("ECOM_LOG_LEVEL", _log_level, "INFO", "Log level."),
    Setting("ECOM_MAX_MESSAGE_BYTES", _positive_int, "4194304", "Max gRPC message size."),
    Setting("ECOM_SHUTDOWN_GRACE_S", _positive_float, "10", "Seconds in-flight calls get on stop."),
    Setting("ECOM_PROVIDERS_FILE", str, None, "JSON file of providers registered at start-up."),
    Setting("ECOM_PROVIDER_TIMEOUT_MS", _positive_int, "2000", "Default provider deadline."),
    Setting("ECOM_CART_SESSION_TTL_S", _positive_int, "2592000", "Current-cart mapping TTL."),
    Setting("ECOM_ABANDONED_AFTER_S", _positive_int, "3600", "Idle time before abandonment."),
    Setting("ECOM_DISCOUNT_STACKING", _stacking, "stack", "stack or best_per_item."),
    # Store settings of carts (and checkouts): copied onto a cart when it is created. Per-site
    # values in ECOM_SITE_SETTINGS override them; the cart service checks the JSON ones at start.
    Setting("ECOM_CURRENCY", _currency, "USD", "Currency (ISO 4217) of new carts."),
    Setting("ECOM_SITE_LANGUAGE", _language, "en", "Site language (IETF BCP 47) of new carts."),
    Setting("ECOM_WEIGHT_UNIT", _weight_unit, "KG", "Weight unit of new carts: KG or LB."),
    Setting("ECOM_TAX_INCLUDED_IN_PRICES", _bool, "false", "Whether catalog prices include tax."),
    Setting(
        "ECOM_TAX_RATES",
        _json_object,
        None,
        "Tax table, JSON or @file (format: services/pricing/tax.py). Unset: no tax.",
    ),
    Setting(
        "ECOM_EXCHANGE_RATES",
        _json_object,
        None,
        'Conversion currencies, JSON {"EUR": "0.92"} or @file. Unset: none.',
    ),
    Setting(
        "ECOM_SITE_SETTINGS",
        _json_object,
        None,
        "Per-site overrides of the six settings above, JSON {site: {...}} or @file.",
    ),
    # Read and checked by the service that uses them (services/<service>/settings.py).
    Setting("ECOM_CHECKOUT_URL_TEMPLATE", str, None, "Checkout page URL template (http/https)."),
    Setting("ECOM_CHECKOUT_RECOVERY_URL_TEMPLATE", str, None, "Recovery link URL template."),
    Setting("ECOM_CHECKOUT_RECOVERY_TOKEN_TTL_S", str, None, "Recovery token lifetime (7 days)."),
    Setting("ECOM_CHECKOUT_RESERVATION_TIMEOUT_S", str, None, "Placement timeout (900)."),
    Setting("ECOM_DISCOUNT_RESERVATION_TTL_S", str, None, "Held coupon/rule uses expire (900)."),
    Setting("ECOM_RECOMMENDATIONS_TOGETHER_WINDOW_DAYS", str, None, "Bought-together window (90)."),
    Setting("ECOM_RECOMMENDATIONS_BEST_SELLERS_WINDOW_DAYS", str, None, "Best sellers (30 days)."),
    Setting("ECOM_RECOMMENDATIONS_CATALOG_CACHE_S", str, None, "Catalog answers cache (5)."),
    Setting("ECOM_RECOMMENDATIONS_PROVIDER_CACHE_S", str, None, "Provider answers cache (60)."),
    Setting("ECOM_RECOMMENDATIONS_PURGE_INTERVAL_S", str, None, "Statistics purge period (3600)."),
    Setting("ECOM_DEMO_DATA", str, "auto", "Load the demo catalog: auto (empty DB), yes, no."),
    *(
        Setting(f"ECOM_{name.upper()}_ADDR", str, None, f"Address of the {name} service.")
        for name in SERVICE_NAMES
    ),
    Setting("ECOM_TEST_DATABASE_URL", _url, None, "Tests: PostgreSQL server to use."),
    Setting("ECOM_TEST_REDIS_URL", _url, None, "Tests: Redis server to use."),
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The parsed settings; look values up by their variable name without the `ECOM_` prefix."""

    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def env(self) -> str:
        return str(self.values["ENV"])

    @property
    def data_dir(self) -> Path:
        return Path(self.values["DATA_DIR"])

    @property
    def database_url(self) -> str | None:
        return self._optional("DATABASE_URL")

    @property
    def redis_url(self) -> str | None:
        return self._optional("REDIS_URL")

    @property
    def auth_secret(self) -> str:
        return str(self.values["AUTH_SECRET"])

    def peer_address(self, service: str) -> str | None:
        return self._optional(f"{service.upper()}_ADDR")

    def _optional(self, key: str) -> str | None:
        value = self.values.get(key)
        return None if value is None else str(value)

    def with_overrides(self, **overrides: Any) -> Config:
        return Config({**self.values, **overrides})


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Parse `ECOM_*` variables; raise ConfigError naming every unknown or malformed one."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    for name in sorted(environ):
        if name.startswith("ECOM_") and name not in _BY_NAME:
            problems.append(f"{name}: unknown setting (see `ecom config` for the list)")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.name, setting.default)
        key = setting.name.removeprefix("ECOM_")
        if raw is None:
            values[key] = None
            continue
        try:
            values[key] = setting.parse(raw)
        except ValueError as exc:
            problems.append(f"{setting.name}={raw!r}: {exc}")
    if not problems:
        problems.extend(_check_secret(values))
    if problems:
        raise ConfigError("bad configuration:\n  " + "\n  ".join(problems))
    if values["AUTH_SECRET"] is None:
        values["AUTH_SECRET"] = DEV_SECRET
    return Config(values)


def _check_secret(values: Mapping[str, Any]) -> list[str]:
    secret = values["AUTH_SECRET"]
    if values["ENV"] != "prod":
        return []
    if secret is None or secret == DEV_SECRET:
        return ["ECOM_AUTH_SECRET: required outside dev mode (ECOM_ENV=prod)"]
    if len(secret) < 32:
        return ["ECOM_AUTH_SECRET: must be at least 32 characters outside dev mode"]
    return []


def describe_settings() -> str:
    """The settings table as text, for `ecom config` and the README."""
    lines = []
    for setting in SETTINGS:
        default = "(unset)" if setting.default is None else setting.default
        lines.append(f"{setting.name:<28} default {default:<12} {setting.help}")
    return "\n".join(lines)

"""Providers declared in the deployment's JSON file (`ECOM_PROVIDERS_FILE`), read at start-up.

They are listed by the provider registry with source CONFIG_FILE next to registered ones and are
read-only there: to change one, change the file and restart. The format:

```json
{
  "providers": [
    {
      "sites": ["*"],
      "kind": "catalog",
      "app_id": "demo-catalog",
      "target": "@catalog",
      "timeout_ms": 2000,
      "settings": {"currency": "USD"}
    },
    {
      "site": "shop-1",
      "kind": "shipping_rates",
      "app_id": "acme-shipping",
      "target": "shipping.internal:7000",
      "tls": true,
      "enabled": true
    }
  ]
}
```

Each entry:

- `site` (a string) or `sites` (a list): the sites it applies to; `"*"` means every site, including
  sites created later. An entry for a named site replaces a `"*"` entry with the same kind and
  `app_id` on that site (so one site can get other settings).
- `kind` (required): the SPI, as `catalog`, `additional_fees`, `shipping_rates`, `validations`,
  `inventory`, `recommendations` or `discount_triggers` (or the proto enum name,
  `PROVIDER_KIND_CATALOG`).
- `app_id` (required): 1..100 letters, digits, `-`, `_`, `.`; unique per site and kind.
- `target` (required): `host:port` or a gRPC target (`dns:///host:port`), or `@<service>` for one
  of the suite's own service targets (`@catalog`, `@shipping`, `@fees`, `@validations`, ...),
  which resolves to that service's address (`ECOM_<SERVICE>_ADDR`, or this process).
- `tls` (default false), `timeout_ms` (default 0: `ECOM_PROVIDER_TIMEOUT_MS`; at most 30000),
  `settings` (a JSON object, at most 64 KiB, default `{}`), `validate_in_cart` (validations
  providers only, default false), `enabled` (default true).

Unknown keys, duplicate entries and invalid values stop start-up with a message naming the entry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.platform.config import SERVICE_NAMES, ConfigError
from services.platform.errors import InvalidArgument, Violations
from services.platform.providers import rules
from services.platform.providers.kinds import Kind

ALL_SITES = "*"
#: Namespace of config-file provider ids: uuid5(namespace, "<site>/<kind>/<app_id>").
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ecom-grpc:providers:config-file")

_KEYS = frozenset(
    {
        "site",
        "sites",
        "kind",
        "app_id",
        "target",
        "tls",
        "timeout_ms",
        "settings",
        "validate_in_cart",
        "enabled",
    }
)


@dataclass(frozen=True)
class ConfiguredProvider:
    """One provider of the file, for one site (or for every site when `site` is "*")."""

    site: str
    kind: Kind
    app_id: str
    target: str
    tls: bool = False
    timeout_ms: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    validate_in_cart: bool = False
    enabled: bool = True

    def id_for(self, site: str) -> str:
        """A stable id: the same site, kind and app id give the same id on every restart."""
        return str(uuid.uuid5(ID_NAMESPACE, f"{site}/{self.kind.slug}/{self.app_id}"))


class ConfiguredProviders:
    """The file's providers, resolved per site."""

    def __init__(self, entries: Sequence[ConfiguredProvider] = ()) -> None:
        self._by_site: dict[str, dict[tuple[Kind, str], ConfiguredProvider]] = {}
        for entry in entries:
            self._by_site.setdefault(entry.site, {})[(entry.kind, entry.app_id)] = entry

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._by_site.values())

    def sites(self) -> list[str]:
        """The site names entries were declared for ("*" included)."""
        return list(self._by_site)

    def for_site(self, site: str) -> list[ConfiguredProvider]:
        merged = {**self._by_site.get(ALL_SITES, {}), **self._by_site.get(site, {})}
        return list(merged.values())

    def find(self, site: str, kind: Kind, app_id: str) -> ConfiguredProvider | None:
        key = (kind, app_id)
        return self._by_site.get(site, {}).get(key) or self._by_site.get(ALL_SITES, {}).get(key)


def resolve_target(target: str, peer_address: Callable[[str], str]) -> str:
    """`@catalog` -> the address of the suite's catalog service; other targets unchanged."""
    if target.startswith("@"):
        return peer_address(target[1:])
    return target


def load_providers_file(path: str | Path) -> ConfiguredProviders:
    """Read and check the file; raise ConfigError naming every bad entry."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"ECOM_PROVIDERS_FILE={path}: cannot read it: {exc}") from exc
    try:
        return parse_providers(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"ECOM_PROVIDERS_FILE={path}: not valid JSON: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(f"ECOM_PROVIDERS_FILE={path}: {exc}") from exc


def parse_providers(document: Any) -> ConfiguredProviders:
    if not isinstance(document, dict) or set(document) != {"providers"}:
        raise ConfigError('the file must be a JSON object with one key, "providers" (a list)')
    raw_entries = document["providers"]
    if not isinstance(raw_entries, list):
        raise ConfigError('"providers" must be a list')
    problems: list[str] = []
    entries: list[ConfiguredProvider] = []
    seen: set[tuple[str, Kind, str]] = set()
    for index, raw in enumerate(raw_entries):
        try:
            parsed = _parse_entry(raw)
        except ValueError as exc:
            problems.append(f"providers[{index}]: {exc}")
            continue
        for entry in parsed:
            key = (entry.site, entry.kind, entry.app_id)
            if key in seen:
                problems.append(
                    f"providers[{index}]: {entry.kind.slug} provider {entry.app_id!r} is "
                    f"declared twice for site {entry.site!r}"
                )
            seen.add(key)
            entries.append(entry)
    if not problems:
        problems.extend(_over_limit(ConfiguredProviders(entries)))
    if problems:
        raise ConfigError("bad providers file:\n  " + "\n  ".join(problems))
    return ConfiguredProviders(entries)


def _parse_entry(raw: Any) -> list[ConfiguredProvider]:
    if not isinstance(raw, dict):
        raise ValueError("each entry must be a JSON object")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown} (known: {sorted(_KEYS)})")
    sites = _sites(raw)
    kind = Kind.parse(_typed(raw, "kind", str, None))
    app_id = _typed(raw, "app_id", str, "")
    target = _typed(raw, "target", str, "")
    timeout_ms = _typed(raw, "timeout_ms", int, 0)
    settings = _typed(raw, "settings", dict, {})
    validate_in_cart = _typed(raw, "validate_in_cart", bool, False)
    violations = Violations()
    rules.check_app_id(violations, "app_id", app_id)
    if target.startswith("@"):
        if target[1:] not in SERVICE_NAMES:
            violations.add("target", f"@service must name one of {', '.join(SERVICE_NAMES)}")
    else:
        rules.check_target(violations, "target", target)
    rules.check_timeout_ms(violations, "timeout_ms", timeout_ms)
    rules.check_settings(violations, "settings", settings)
    rules.check_validate_in_cart(violations, "validate_in_cart", kind, validate_in_cart)
    try:
        violations.raise_if_any()
    except InvalidArgument as exc:
        raise ValueError(exc.message) from None
    return [
        ConfiguredProvider(
            site=site,
            kind=kind,
            app_id=app_id,
            target=target,
            tls=_typed(raw, "tls", bool, False),
            timeout_ms=timeout_ms,
            settings=settings,
            validate_in_cart=validate_in_cart,
            enabled=_typed(raw, "enabled", bool, True),
        )
        for site in sites
    ]


def _sites(raw: Mapping[str, Any]) -> list[str]:
    if ("site" in raw) == ("sites" in raw):
        raise ValueError('give exactly one of "site" (a string) or "sites" (a list)')
    sites = [raw["site"]] if "site" in raw else raw["sites"]
    if (
        not isinstance(sites, list)
        or not sites
        or not all(isinstance(s, str) and s.strip() for s in sites)
    ):
        raise ValueError('"sites" must be a non-empty list of site names (or "*")')
    if len(set(sites)) != len(sites):
        raise ValueError('"sites" names a site twice')
    return list(sites)


def _typed(raw: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    if key not in raw:
        if default is None:
            raise ValueError(f'"{key}" is required')
        return default
    value = raw[key]
    # bool is an int in Python; a timeout of `true` must still be refused.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f'"{key}" must be a JSON {_JSON_NAMES[kind]}')
    return value


_JSON_NAMES = {str: "string", int: "integer", bool: "boolean", dict: "object"}


def _over_limit(providers: ConfiguredProviders) -> list[str]:
    problems = []
    for site in providers.sites():
        counts: dict[Kind, int] = {}
        for entry in providers.for_site(site):
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
        for kind, count in counts.items():
            if count > rules.MAX_PROVIDERS_PER_KIND:
                problems.append(
                    f"site {site!r} has {count} {kind.slug} providers; at most "
                    f"{rules.MAX_PROVIDERS_PER_KIND} per site and kind"
                )
    return problems

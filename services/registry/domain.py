"""The provider registry's rules, in plain Python: what a registration is, what may change, and
how a site's providers from both sources (registry and config file) are merged.

No grpc, no SQL: the servicer translates protos to these types and the store persists them.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Violations,
    check_revision,
)
from services.platform.providers import rules
from services.platform.providers.config_file import ConfiguredProvider
from services.platform.providers.kinds import Kind

RESOURCE = "provider"
#: Fields UpdateProvider may change (paths of ecom.providers.v1.Provider).
UPDATABLE = frozenset({"target", "tls", "timeout", "settings", "validate_in_cart", "enabled"})


class Source(enum.IntEnum):
    """Numbers as in `ecom.providers.v1.ProviderSource`."""

    REGISTRY = 1
    CONFIG_FILE = 2


@dataclass(frozen=True)
class Registration:
    """What a caller asks to register (or the new values of an update)."""

    kind: Kind | None
    app_id: str
    target: str
    tls: bool = False
    timeout_ms: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    validate_in_cart: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class ProviderRecord:
    id: str
    site: str
    kind: Kind
    app_id: str
    target: str
    tls: bool
    #: 0: the deployment's default (ECOM_PROVIDER_TIMEOUT_MS).
    timeout_ms: int
    settings: Mapping[str, Any]
    validate_in_cart: bool
    enabled: bool
    source: Source
    revision: int
    created: datetime
    updated: datetime

    @property
    def read_only(self) -> bool:
        return self.source is Source.CONFIG_FILE


def check_registration(registration: Registration, prefix: str = "provider") -> None:
    """Raise InvalidArgument listing every field the registration gets wrong."""
    violations = Violations()
    if registration.kind is None:
        violations.add(f"{prefix}.kind", "required: one of the PROVIDER_KIND_* values")
    rules.check_app_id(violations, f"{prefix}.app_id", registration.app_id)
    rules.check_target(violations, f"{prefix}.target", registration.target)
    rules.check_timeout_ms(violations, f"{prefix}.timeout", registration.timeout_ms)
    rules.check_settings(violations, f"{prefix}.settings", registration.settings)
    rules.check_validate_in_cart(
        violations, f"{prefix}.validate_in_cart", registration.kind, registration.validate_in_cart
    )
    violations.raise_if_any()


def new_record(site: str, registration: Registration, now: datetime) -> ProviderRecord:
    check_registration(registration)
    assert registration.kind is not None  # checked above
    return ProviderRecord(
        id=str(uuid.uuid4()),
        site=site,
        kind=registration.kind,
        app_id=registration.app_id,
        target=registration.target,
        tls=registration.tls,
        timeout_ms=registration.timeout_ms,
        settings=dict(registration.settings),
        validate_in_cart=registration.validate_in_cart,
        enabled=registration.enabled,
        source=Source.REGISTRY,
        revision=1,
        created=now,
        updated=now,
    )


def check_mask(paths: Iterable[str]) -> frozenset[str]:
    paths = frozenset(paths)
    violations = Violations()
    if not paths:
        violations.add("update_mask", f"required: name the fields to change ({_updatable()})")
    for path in sorted(paths - UPDATABLE):
        violations.add("update_mask", f"{path!r} cannot be updated (updatable: {_updatable()})")
    violations.raise_if_any()
    return paths


def _updatable() -> str:
    return ", ".join(sorted(UPDATABLE))


def apply_update(
    record: ProviderRecord,
    values: Registration,
    paths: frozenset[str],
    expected_revision: int,
    now: datetime,
) -> ProviderRecord:
    """The record after changing the fields in `paths` to `values` (checked like a register)."""
    if record.read_only:
        raise read_only(record)
    check_revision(RESOURCE, expected_revision, record.revision)
    changes: dict[str, Any] = {}
    if "target" in paths:
        changes["target"] = values.target
    if "tls" in paths:
        changes["tls"] = values.tls
    if "timeout" in paths:
        changes["timeout_ms"] = values.timeout_ms
    if "settings" in paths:
        changes["settings"] = dict(values.settings)
    if "validate_in_cart" in paths:
        changes["validate_in_cart"] = values.validate_in_cart
    if "enabled" in paths:
        changes["enabled"] = values.enabled
    updated = replace(record, **changes, revision=record.revision + 1, updated=now)
    check_registration(
        Registration(
            kind=updated.kind,
            app_id=updated.app_id,
            target=updated.target,
            tls=updated.tls,
            timeout_ms=updated.timeout_ms,
            settings=updated.settings,
            validate_in_cart=updated.validate_in_cart,
            enabled=updated.enabled,
        )
    )
    return updated


def check_deletable(record: ProviderRecord, expected_revision: int) -> None:
    if record.read_only:
        raise read_only(record)
    check_revision(RESOURCE, expected_revision, record.revision)


def read_only(record: ProviderRecord) -> FailedPrecondition:
    return FailedPrecondition(
        "PROVIDER_READ_ONLY",
        f"provider {record.app_id!r} comes from the configuration file; change the file instead",
        metadata={"provider_id": record.id},
    )


def not_found(provider_id: str) -> NotFound:
    return NotFound(
        "PROVIDER_NOT_FOUND",
        f"no provider {provider_id} on this site",
        metadata={"provider_id": provider_id},
    )


def already_exists(existing: ProviderRecord) -> AlreadyExists:
    return AlreadyExists(
        "PROVIDER_ALREADY_EXISTS",
        f"the site already has a {existing.kind.slug} provider with app id {existing.app_id!r}",
        metadata={"provider_id": existing.id},
    )


def check_id(provider_id: str, field_path: str = "id") -> str:
    try:
        return str(uuid.UUID(provider_id))
    except ValueError:
        raise InvalidArgument.of(
            field_path, "required: a provider id (UUID)" if not provider_id else "not a UUID"
        ) from None


def from_config(entry: ConfiguredProvider, site: str, loaded: datetime) -> ProviderRecord:
    """A config-file provider as the registry shows it for `site`."""
    return ProviderRecord(
        id=entry.id_for(site),
        site=site,
        kind=entry.kind,
        app_id=entry.app_id,
        target=entry.target,
        tls=entry.tls,
        timeout_ms=entry.timeout_ms,
        settings=entry.settings,
        validate_in_cart=entry.validate_in_cart,
        enabled=entry.enabled,
        source=Source.CONFIG_FILE,
        revision=1,
        created=loaded,
        updated=loaded,
    )

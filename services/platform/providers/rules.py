"""The rules a provider registration must meet, shared by the registry API and the config file.

Pure functions that add field violations to a `Violations` collector, so a request (or a file
entry) reports all its problems at once.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from services.platform.errors import Violations
from services.platform.providers.kinds import Kind

MAX_APP_ID_LENGTH = 100
MAX_TIMEOUT_MS = 30_000
MAX_SETTINGS_BYTES = 64 * 1024
#: At most this many providers per site and kind, both sources together.
MAX_PROVIDERS_PER_KIND = 20

_APP_ID = re.compile(r"^[A-Za-z0-9._-]+$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$"
)
#: gRPC name-resolver schemes a target may start with (`dns:///host:port`, `unix:/path`).
_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:")


def check_app_id(violations: Violations, field: str, app_id: str) -> None:
    if not app_id:
        violations.add(field, "required")
    elif len(app_id) > MAX_APP_ID_LENGTH:
        violations.add(field, f"at most {MAX_APP_ID_LENGTH} characters")
    elif not _APP_ID.match(app_id):
        violations.add(field, "only letters, digits, '-', '_' and '.' are allowed")


def target_problem(target: str) -> str | None:
    """Why `target` is not a usable gRPC target, or None when it is."""
    if not target:
        return "required"
    if target != target.strip() or any(ch.isspace() for ch in target):
        return "must not contain whitespace"
    if target.startswith(_SCHEMES):
        scheme, _, rest = target.partition(":")
        rest = rest.removeprefix("//").lstrip("/") if scheme in ("dns", "ipv4", "ipv6") else rest
        if not rest:
            return f"a {scheme}: target needs an address after the scheme"
        if scheme in ("dns", "ipv4", "ipv6"):
            # The authority part (`dns://8.8.8.8/host:port`) was stripped above only when
            # empty; what remains must be host:port.
            rest = rest.rpartition("/")[2]
            return _host_port_problem(rest)
        return None
    if "://" in target:
        return "use host:port or a gRPC scheme (dns:, ipv4:, ipv6:, unix:)"
    return _host_port_problem(target)


def _host_port_problem(address: str) -> str | None:
    if address.startswith("["):
        host, sep, port = address[1:].partition("]:")
        if not sep:
            return "must be host:port ([v6-address]:port for IPv6)"
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"{host!r} is not an IPv6 address"
    else:
        host, sep, port = address.rpartition(":")
        if not sep or not host:
            return "must be host:port"
        if ":" in host:
            return "put an IPv6 address in brackets: [::1]:port"
        if not _HOSTNAME.match(host):
            return f"{host!r} is not a valid host name or address"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return "the port must be a number 1..65535"
    return None


def check_target(violations: Violations, field: str, target: str) -> None:
    problem = target_problem(target)
    if problem:
        violations.add(field, problem)


def check_timeout_ms(violations: Violations, field: str, timeout_ms: int) -> None:
    """0 means the default (ECOM_PROVIDER_TIMEOUT_MS)."""
    if timeout_ms < 0:
        violations.add(field, "must not be negative")
    elif timeout_ms > MAX_TIMEOUT_MS:
        violations.add(field, f"at most {MAX_TIMEOUT_MS // 1000} s")


def check_settings(violations: Violations, field: str, settings: Mapping[str, Any]) -> None:
    size = len(json.dumps(settings, separators=(",", ":")).encode())
    if size > MAX_SETTINGS_BYTES:
        violations.add(field, f"at most {MAX_SETTINGS_BYTES // 1024} KiB as JSON ({size} bytes)")


def check_validate_in_cart(
    violations: Violations, field: str, kind: Kind | None, validate_in_cart: bool
) -> None:
    if validate_in_cart and kind is not None and kind is not Kind.VALIDATIONS:
        violations.add(field, "only validations providers can validate carts")

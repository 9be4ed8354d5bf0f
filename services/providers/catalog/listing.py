"""ListProducts paging: page sizes and opaque page tokens bound to the filter they came from.

A token holds the id of the last product returned (keyset paging on the id, stable under inserts
and deletes) and a fingerprint of the filter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field

from services.platform.errors import InvalidArgument, Violations

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_FILTER_IDS = 100


@dataclass(frozen=True)
class ProductQuery:
    ids: tuple[str, ...] = ()
    visible: bool | None = None
    page_size: int = 0
    page_token: str = field(default="", compare=False)

    def fingerprint(self) -> str:
        shape = {"ids": sorted(set(self.ids)), "visible": self.visible}
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]

    def size(self) -> int:
        return min(self.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)

    def check(self) -> str:
        """Check the query; return the id to continue after ("" for the first page)."""
        violations = Violations()
        if self.page_size < 0:
            violations.add("page_size", "must not be negative")
        if len(self.ids) > MAX_FILTER_IDS:
            violations.add("filter.ids", f"at most {MAX_FILTER_IDS} ids")
        violations.raise_if_any()
        return decode_token(self.page_token, self.fingerprint()) if self.page_token else ""


def encode_token(after: str, fingerprint: str) -> str:
    raw = json.dumps({"after": after, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> str:
    bad = InvalidArgument.of("page_token", "malformed, or issued for another filter")
    try:
        data = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
    except (ValueError, binascii.Error):
        raise bad from None
    if (
        not isinstance(data, dict)
        or data.get("q") != fingerprint
        or not isinstance(data.get("after"), str)
        or not data["after"]
    ):
        raise bad
    return str(data["after"])

"""Opaque, site-bound cursors and page tokens around the bus's raw stream positions.

A cursor is `c1.` + base64url(site, position); a page token is `p1.` + base64url of the site,
the position and a digest of the filter and order it was issued for. Binding them to the site
lets the service refuse another site's cursor (INVALID_ARGUMENT) instead of reading a stream
position that means something else; the version prefix leaves room to change the encoding.
"""

from __future__ import annotations

import base64
import binascii
import json

from services.platform.errors import InvalidArgument
from services.platform.events.bus import CursorError, parse_cursor

_CURSOR_PREFIX = "c1."
_PAGE_PREFIX = "p1."


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(site: str, position: str) -> str:
    return _CURSOR_PREFIX + _b64(f"{site}\n{position}".encode())


def decode_cursor(site: str, token: str, field: str) -> str:
    """The stream position of `token`; INVALID_ARGUMENT when malformed or of another site."""
    try:
        if not token.startswith(_CURSOR_PREFIX):
            raise ValueError("unknown cursor version")
        owner, _, position = _unb64(token[len(_CURSOR_PREFIX) :]).decode().partition("\n")
        parse_cursor(position)
    except (ValueError, UnicodeDecodeError, binascii.Error, CursorError) as exc:
        raise InvalidArgument.of(field, "malformed cursor") from exc
    if owner != site:
        raise InvalidArgument.of(field, "the cursor belongs to another site")
    return position


def encode_page_token(site: str, digest: str, position: str) -> str:
    body = json.dumps({"s": site, "f": digest, "p": position}, separators=(",", ":"))
    return _PAGE_PREFIX + _b64(body.encode())


def decode_page_token(site: str, token: str, digest: str, field: str = "page_token") -> str:
    """The position of a page token issued for this site, filter and order."""
    try:
        if not token.startswith(_PAGE_PREFIX):
            raise ValueError("unknown token version")
        body = json.loads(_unb64(token[len(_PAGE_PREFIX) :]))
        owner, issued_for, position = str(body["s"]), str(body["f"]), str(body["p"])
        parse_cursor(position)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidArgument.of(field, "malformed page token") from exc
    if owner != site:
        raise InvalidArgument.of(field, "the page token belongs to another site")
    if issued_for != digest:
        raise InvalidArgument.of(field, "the page token was issued for another filter or order")
    return position

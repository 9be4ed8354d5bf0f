"""Who is calling: roles, the caller of the current RPC, and bearer tokens (JWT, HS256).

A token carries `sub` (the subject), `role` and `site` (the tenant). The interceptor verifies it
once per call and stores the resulting `Caller` in a context variable that servicers read with
`current_caller()`; nothing a caller writes in a request body can change who they are.
"""

from __future__ import annotations

import enum
import re
import time
import uuid
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass

import jwt

from services.platform.errors import PermissionDenied, Unauthenticated

TOKEN_ISSUER = "ecom-grpc"
#: What a site name may look like: it becomes part of storage keys and stream names.
SITE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_ALGORITHM = "HS256"
#: Verified tokens remembered per TokenService (least recently used ones are forgotten first).
VERIFIED_CACHE_SIZE = 10_000


class Role(enum.StrEnum):
    VISITOR = "visitor"
    MEMBER = "member"
    ADMIN = "admin"
    SERVICE = "service"


BUYERS = frozenset({Role.VISITOR, Role.MEMBER})
STAFF = frozenset({Role.ADMIN, Role.SERVICE})
EVERYONE = BUYERS | STAFF


@dataclass(frozen=True)
class Caller:
    site: str
    subject: str
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_buyer(self) -> bool:
        return self.role in BUYERS


_caller: ContextVar[Caller | None] = ContextVar("ecom_caller", default=None)
_request_id: ContextVar[str] = ContextVar("ecom_request_id", default="")


def current_caller() -> Caller:
    """The verified caller of the RPC being served. Raises outside an authenticated call."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("no authenticated caller in this context")
    return caller


def current_request_id() -> str:
    """The request id of the RPC being served (from `x-request-id` or generated)."""
    return _request_id.get()


def bind_call(caller: Caller | None, request_id: str) -> None:
    """Set the caller and request id for the current task (the interceptor calls this)."""
    _caller.set(caller)
    _request_id.set(request_id)


def require_owner_or_staff(owner_subject: str) -> None:
    """Buyers reach only what they own; staff reach everything on their site."""
    caller = current_caller()
    if not caller.is_staff and caller.subject != owner_subject:
        raise PermissionDenied("NOT_OWNER", "the resource belongs to another buyer")


class TokenService:
    """Mints and verifies the suite's bearer tokens with one shared secret.

    A token that verified once is remembered (bounded, least recently used first out) until it
    expires: callers send the same token with every call, and checking its signature and claims
    again would give the same answer until then. Refused tokens are not remembered.
    """

    def __init__(
        self, secret: str, *, leeway_s: int = 30, cache_size: int = VERIFIED_CACHE_SIZE
    ) -> None:
        self._secret = secret
        self._leeway_s = leeway_s
        self._cache_size = cache_size
        #: token -> (its caller, the time.time() at which it stops being accepted)
        self._verified: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    def mint(self, *, role: Role, site: str, subject: str, ttl_s: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "role": role.value,
            "site": site,
            "iat": now,
            "exp": now + ttl_s,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Caller:
        remembered = self._verified.get(token)
        if remembered is not None:
            caller, valid_until = remembered
            if time.time() < valid_until:
                self._verified.move_to_end(token)
                return caller
            del self._verified[token]
        caller, expires_at = self._decode(token)
        # Accepted while exp > now - leeway, as PyJWT checks it.
        self._verified[token] = (caller, expires_at + self._leeway_s)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return caller

    def _decode(self, token: str) -> tuple[Caller, int]:
        """Check signature and claims; the caller and the token's `exp`."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=TOKEN_ISSUER,
                leeway=self._leeway_s,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise Unauthenticated("token has an unknown role") from exc
        site, subject = claims.get("site"), claims.get("sub")
        if not isinstance(site, str) or not SITE_PATTERN.fullmatch(site):
            raise Unauthenticated("token lacks a valid site")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("token lacks a subject")
        return Caller(site=site, subject=subject, role=role), int(claims["exp"])

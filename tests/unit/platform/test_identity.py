import time

import jwt
import pytest

from services.platform.errors import Unauthenticated
from services.platform.identity import TOKEN_ISSUER, Caller, Role, TokenService

SECRET = "test-secret-test-secret-test-secret!"


def test_minted_token_verifies_to_its_caller() -> None:
    tokens = TokenService(SECRET)
    token = tokens.mint(role=Role.MEMBER, site="shop-1", subject="m-1")
    assert tokens.verify(token) == Caller(site="shop-1", subject="m-1", role=Role.MEMBER)


def test_expired_token_is_refused() -> None:
    tokens = TokenService(SECRET, leeway_s=0)
    token = tokens.mint(role=Role.ADMIN, site="s", subject="a", ttl_s=-5)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)


def test_forged_token_is_refused() -> None:
    forged = TokenService("another-secret-another-secret-1234").mint(
        role=Role.ADMIN, site="s", subject="a"
    )
    with pytest.raises(Unauthenticated, match="invalid token"):
        TokenService(SECRET).verify(forged)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "a", "role": "root", "site": "s"},
        {"sub": "a", "role": "admin"},
        {"role": "admin", "site": "s"},
        {"sub": "a", "role": "admin", "site": ""},
    ],
)
def test_tokens_with_bad_claims_are_refused(claims: dict[str, str]) -> None:
    token = jwt.encode(
        {"iss": TOKEN_ISSUER, "exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256"
    )
    with pytest.raises(Unauthenticated):
        TokenService(SECRET).verify(token)


def test_unsigned_token_is_refused() -> None:
    token = jwt.encode(
        {
            "iss": TOKEN_ISSUER,
            "exp": int(time.time()) + 60,
            "sub": "a",
            "role": "admin",
            "site": "s",
        },
        key=None,
        algorithm="none",
    )
    with pytest.raises(Unauthenticated):
        TokenService(SECRET).verify(token)

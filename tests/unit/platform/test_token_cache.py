"""TokenService remembers verified tokens: never past their expiry, never refused ones."""

import time

import jwt
import pytest

from services.platform.errors import Unauthenticated
from services.platform.identity import TOKEN_ISSUER, Caller, Role, TokenService

SECRET = "test-secret-test-secret-test-secret!"


def _token(exp: int, secret: str = SECRET) -> str:
    claims = {"iss": TOKEN_ISSUER, "exp": exp, "sub": "m-1", "role": "member", "site": "s"}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_a_remembered_token_still_expires_on_time() -> None:
    tokens = TokenService(SECRET, leeway_s=0)
    expires = int(time.time()) + 1
    token = _token(expires)
    assert tokens.verify(token) == Caller(site="s", subject="m-1", role=Role.MEMBER)
    assert tokens.verify(token).subject == "m-1"  # from memory
    while time.time() < expires:  # bounded: at most one second
        time.sleep(0.02)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)


def test_leeway_is_honoured_like_the_first_check() -> None:
    tokens = TokenService(SECRET, leeway_s=30)
    token = _token(int(time.time()) - 5)  # expired, but within the leeway
    assert tokens.verify(token).site == "s"
    assert tokens.verify(token).site == "s"


def test_refused_tokens_are_refused_every_time() -> None:
    tokens = TokenService(SECRET)
    forged = _token(int(time.time()) + 60, secret="another-secret-another-secret-1234")
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="invalid token"):
            tokens.verify(forged)


def test_many_tokens_within_a_small_memory() -> None:
    tokens = TokenService(SECRET, cache_size=2)
    minted = [tokens.mint(role=Role.VISITOR, site="s", subject=f"v-{n}") for n in range(5)]
    for _ in range(2):
        assert [tokens.verify(t).subject for t in minted] == [f"v-{n}" for n in range(5)]

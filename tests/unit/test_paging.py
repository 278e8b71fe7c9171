"""Keyset page tokens: a key round-trips, a token of another scope or a garbled one is refused."""

from __future__ import annotations

import base64
import json

import pytest

from mesh import paging
from mesh.errors import InvalidArgument

TOKENS = paging.KeysetTokens((float, str))


def test_a_key_round_trips_within_its_scope() -> None:
    token = TOKENS.encode((12.5, "b"), {"user": "ada"})
    assert TOKENS.decode(token, {"user": "ada"}) == (12.5, "b")
    assert "=" not in token and "+" not in token and "/" not in token


def test_an_integer_time_decodes_as_a_float() -> None:
    token = TOKENS.encode((3, "x"))
    key = TOKENS.decode(token)
    assert key == (3.0, "x")
    assert isinstance(key[0], float)


def test_an_empty_token_is_the_first_page() -> None:
    assert TOKENS.decode("", {"user": "ada"}) is None


def test_a_token_of_another_scope_names_the_filter_that_differs() -> None:
    token = TOKENS.encode((1.0, "a"), {"user": "ada", "symbol": "AAPL"})
    with pytest.raises(paging.InvalidPageToken, match="different symbol"):
        TOKENS.decode(token, {"user": "ada", "symbol": "MSFT"})
    with pytest.raises(paging.InvalidPageToken, match="different user"):
        TOKENS.decode(token, {"symbol": "AAPL"})


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "e30",  # {}
        _forge([1, 2]),
        _forge({"v": 2, "s": {}, "k": [1.0, "a"]}),
        _forge({"v": 1, "s": {}, "k": [1.0]}),
        _forge({"v": 1, "s": {}, "k": ["a", "a"]}),
        _forge({"v": 1, "s": {}, "k": [True, "a"]}),
        _forge({"v": 1, "s": [], "k": [1.0, "a"]}),
        "eyJ2IjoxLCJzIjp7fSwiayI6W0luZmluaXR5LCJhIl19",  # Infinity as the time
    ],
)
def test_garbled_tokens_are_refused(token: str) -> None:
    with pytest.raises(paging.InvalidPageToken, match="not valid"):
        TOKENS.decode(token)


def test_a_refused_token_is_an_invalid_argument_on_page_token() -> None:
    error = paging.invalid_argument(paging.InvalidPageToken("page token is not valid"))
    assert isinstance(error, InvalidArgument)
    assert [v.field for v in error.violations] == ["page_token"]
    assert error.reason == "INVALID_PAGE_TOKEN"


def test_a_key_of_the_wrong_shape_is_not_encoded() -> None:
    with pytest.raises(ValueError):
        TOKENS.encode(("a", 1.0))


@pytest.mark.parametrize(("requested", "expected"), [(0, 20), (1, 1), (20, 20), (500, 100)])
def test_page_size_defaults_and_clamps(requested: int, expected: int) -> None:
    assert paging.page_size(requested, default=20, maximum=100) == expected


def test_page_size_refuses_negative_and_optionally_too_large() -> None:
    with pytest.raises(InvalidArgument, match="page_size"):
        paging.page_size(-1, default=20)
    with pytest.raises(InvalidArgument, match="at most 100"):
        paging.page_size(101, default=20, maximum=100, refuse_over=True)

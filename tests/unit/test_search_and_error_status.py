"""The search pattern escapes what LIKE would read as wildcards, and every refusal has one
HTTP status, the same for the API and the pages."""

from __future__ import annotations

import pytest

from reroute.api.problems import status_of
from reroute.domain.errors import Busy, Conflict, DomainError, Forbidden, Invalid, NotFound
from reroute.services.users import HashingBusy, SignInRefused
from reroute.storage.search import contains_pattern


@pytest.mark.parametrize(
    ("typed", "pattern"),
    [
        ("  Linen SHIRT ", "%linen shirt%"),
        ("50%", "%50\\%%"),
        ("a_b", "%a\\_b%"),
        ("c\\d", "%c\\\\d%"),
        ("\\%", "%\\\\\\%%"),
    ],
)
def test_the_pattern_is_lower_case_trimmed_and_escaped(typed: str, pattern: str) -> None:
    assert contains_pattern(typed) == pattern


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("x"), 404),
        (Conflict("x"), 409),
        (Forbidden("x"), 403),
        (Invalid("x"), 422),
        (Busy("x"), 503),
        (DomainError("x"), 400),
        (SignInRefused("x"), 400),
        (HashingBusy("x"), 400),
    ],
)
def test_each_refusal_has_its_status(error: DomainError, status: int) -> None:
    assert status_of(error) == status

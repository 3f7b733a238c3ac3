"""Request bodies refuse NUL in any text, wherever it sits, at the field that holds it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reroute.api.schemas.common import Strict, nul_at


class Inner(Strict):
    name: str


class Outer(Strict):
    inner: Inner
    tags: list[str] = []
    extra: dict[str, Any] = {}


def refused_at(body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as refused:
        Outer.model_validate(body)
    return [(e["loc"], e["msg"]) for e in refused.value.errors()]


def test_nul_in_a_nested_body_is_refused_at_the_nested_field() -> None:
    ((loc, message),) = refused_at({"inner": {"name": "a\x00"}})
    assert loc == ("inner", "name")
    assert "NUL" in message


def test_nul_in_a_list_or_an_object_is_refused_at_the_field_naming_the_item() -> None:
    ((loc, message),) = refused_at({"inner": {"name": "a"}, "tags": ["ok", "b\x00"]})
    assert loc == ("tags",) and "item 1" in message
    ((loc, message),) = refused_at({"inner": {"name": "a"}, "extra": {"k": [{"deep": "\x00"}]}})
    assert loc == ("extra",) and "item k.0.deep" in message
    ((loc, _),) = refused_at({"inner": {"name": "a"}, "extra": {"key\x00": 1}})
    assert loc == ("extra",)


def test_text_without_nul_passes_unchanged() -> None:
    body = {"inner": {"name": "Ada \\u0000 Lovelace"}, "tags": ["ä", "😀"], "extra": {"n": [1]}}
    assert Outer.model_validate(body).model_dump() == body


def test_nul_is_found_at_any_depth_without_recursion() -> None:
    deep: Any = "\x00"
    for _ in range(50_000):
        deep = [deep]
    assert nul_at(deep) == ".".join(["0"] * 50_000)
    assert nul_at([[["fine"]]]) is None

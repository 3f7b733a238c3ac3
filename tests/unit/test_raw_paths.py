"""Ids with slashes in paths: routing on the path as sent, the `key` convertor decoding it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from reroute.api.paths import KeyConvertor, routed_path


@pytest.mark.parametrize(
    "order_id", ["gid://shopify/Order/123", "#1001", "50%off", "a%2Fb", "ä/ö", "x?y&z=1", "%"]
)
def test_a_percent_encoded_id_comes_back_whole_from_its_segment(order_id: str) -> None:
    raw = f"/api/v1/orders/{quote(order_id, safe='')}/cancel".encode()
    path = routed_path(raw)
    assert path is not None
    prefix, segment, action = path.rsplit("/", 2)
    assert (prefix, action) == ("/api/v1/orders", "cancel")
    assert KeyConvertor().convert(segment) == order_id


def test_a_path_without_escapes_is_left_to_the_server() -> None:
    assert routed_path(b"/api/v1/orders/1001") is None


def test_a_lower_case_escape_of_a_slash_is_kept_as_one() -> None:
    assert routed_path(b"/orders/a%2fb%41") == "/orders/a%2FbA"


def test_the_convertor_encodes_every_reserved_character_for_links() -> None:
    assert KeyConvertor().to_string("gid://x/1#2") == "gid%3A%2F%2Fx%2F1%232"

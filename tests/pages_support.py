"""Driving the pages as a browser would, without one: forms carry the page's CSRF token."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response

from reroute.domain.access import SYSTEM, Role
from reroute.services import users
from reroute.services.context import Context
from tests.support import count_stock, new_id, order_body, put_facility, put_product

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lightest: the same algorithm and checks, without its cost per test."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def csrf_of(page: Response) -> str:
    match = _CSRF.search(page.text)
    assert match is not None, f"no CSRF token on {page.url}"
    return match.group(1)


def text_of(page: Response) -> str:
    """The page's words, without tags, entities decoded and spaces squeezed."""
    inline = re.sub(r"</?(strong|em|span|a|time|code)\b[^>]*>", "", page.text)
    words = re.sub(r"<[^>]+>", " ", inline)
    return re.sub(r"\s+", " ", html.unescape(words))


def person(context: Context, role: Role, facilities: list[str] | None = None) -> str:
    """A new user of `role`; answers the email (the password is PASSWORD)."""
    email = f"{new_id(role.value)}@example.com"
    users.create_user(context, email, PASSWORD, role, facilities or [], SYSTEM)
    return email


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form)},
    )


def post_form(client: TestClient, page: Response, action: str, **data: Any) -> Response:
    """Submit a form of `page` (its CSRF token included) to `action`."""
    return client.post(action, data={"csrf_token": csrf_of(page), **data})


@dataclass
class Store:
    """Two stores near the customer (A nearest, B next) and a warehouse far off, all holding
    the product; orders of it go to A first."""

    store_a: str
    store_b: str
    product: str
    product_name: str
    orders: list[str] = field(default_factory=list)


def two_stores(client: TestClient, admin: dict[str, str], orders: int = 2) -> Store:
    a = put_facility(client, admin, name="Andersonville", latitude=41.88, longitude=-87.63)
    b = put_facility(client, admin, name="Bucktown", latitude=41.92, longitude=-87.68)
    name = f"Linen shirt {new_id('c')}"
    product = put_product(client, admin, name=name)
    count_stock(client, admin, a, product, 5)
    count_stock(client, admin, b, product, 5)
    made = Store(a, b, product, name)
    for n in range(orders):
        body = order_body([(product, 1)], customer={"name": f"Grace {n}", "email": "g@x.io"})
        response = client.post("/api/v1/orders", json=body, headers=admin)
        assert response.status_code == 201, response.text
        assert response.json()["items"][0]["facility_id"] == a
        made.orders.append(body["order_id"])
    return made

"""Fixtures for the notification tests: a real signed-webhook receiver and delivery workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.delivery.worker import DeliveryWorker
from reroute.services.context import Context
from tests.integration.notification_world import Feed, World, build_world
from tests.integration.receiver import Receiver, fast_settings
from tests.support import count_stock, put_facility, put_product, stocked

MakeWorker = Callable[..., DeliveryWorker]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def make_worker(context: Context) -> Iterator[MakeWorker]:
    """Workers with test-sized timeouts and schedule; every one made is stopped afterwards."""
    made: list[DeliveryWorker] = []

    def make(**overrides: Any) -> DeliveryWorker:
        worker = DeliveryWorker(context, fast_settings(**overrides))
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()


@pytest.fixture
def near_and_far(client: TestClient, admin: dict[str, str]) -> tuple[str, str, str]:
    """Store A near the customer, store B far off, both holding the product: orders go to A."""
    product = put_product(client, admin)
    a = stocked(client, admin, 1, {product: 5})
    b = stocked(client, admin, 50, {product: 5})
    return a, b, product


@pytest.fixture
def two_stores(client: TestClient, admin: dict[str, str]) -> tuple[str, str, str]:
    """Stores A and B, and a product counted at both."""
    a, b, product = (
        put_facility(client, admin),
        put_facility(client, admin),
        put_product(client, admin),
    )
    count_stock(client, admin, a, product, 5)
    count_stock(client, admin, b, product, 7)
    return a, b, product


@pytest.fixture
def world(client: TestClient, admin: dict[str, str]) -> World:
    """The notification tests' two facilities and two products (`notification_world`)."""
    return build_world(client, admin)


@pytest.fixture
def feed(client: TestClient, admin: dict[str, str]) -> Feed:
    return Feed(client, admin)

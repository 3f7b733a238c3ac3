"""Fixtures for the notification tests: a real signed-webhook receiver and delivery workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reroute.delivery.worker import DeliveryWorker
from reroute.services.context import Context
from tests.integration.receiver import Receiver, fast_settings

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

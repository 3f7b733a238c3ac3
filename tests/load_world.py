"""The world a mixed load runs in (stores, products, stock, seeded over the API) and what its
client threads learn from the answers (the board of orders and shipments they pick targets
from)."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support import HOME, KM_PER_DEGREE, facility_body, product_body

# The world ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    id: str
    capabilities: tuple[str, ...]


@dataclass
class World:
    products: list[str]
    sites: list[Site]

    @property
    def pickup_sites(self) -> list[str]:
        return [s.id for s in self.sites if "pickup" in s.capabilities]


def seed(client: httpx.Client, base: str, tag: str) -> World:
    """4 stores and a warehouse within a few km of the customers, 4 products, low stock."""
    plan: list[tuple[str, float, list[str], int | None]] = [
        ("store", 1.0, ["ship", "pickup", "same_day"], None),
        ("store", 2.0, ["ship", "pickup"], None),
        ("store", 3.5, ["ship", "same_day"], 40),
        ("store", 5.0, ["ship", "pickup", "same_day"], 15),
        ("warehouse", 8.0, ["ship"], None),
    ]
    sites = []
    for n, (kind, km, capabilities, capacity) in enumerate(plan):
        facility_id = f"ML-{tag}-F{n}"
        body = facility_body(
            kind=kind,
            latitude=HOME[0] + km / KM_PER_DEGREE,
            longitude=HOME[1],
            capabilities=capabilities,
            daily_capacity=capacity,
        )
        _must(client.put(f"{base}/api/v1/facilities/{facility_id}", json=body))
        sites.append(Site(facility_id, tuple(capabilities)))
    products = []
    for n in range(4):
        product_id = f"ML-{tag}-P{n}"
        _must(client.put(f"{base}/api/v1/products/{product_id}", json=product_body()))
        products.append(product_id)
    rng = random.Random(tag)
    for site in sites:
        for product_id in products:
            quantity = 8 if site.id.endswith("F4") else rng.randint(1, 6)
            _must(
                client.put(
                    f"{base}/api/v1/facilities/{site.id}/inventory/{product_id}",
                    json={"quantity_on_hand": quantity},
                )
            )
    return World(products, sites)


def _must(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), f"{response.request.url}: {response.text}"
    return response.json()


# What the threads learned ---------------------------------------------------------------------


@dataclass
class Known:
    shipment_id: str
    order_id: str
    facility_id: str
    state: str
    items: set[str] = field(default_factory=set)


class Board:
    """Shipments and orders the threads have seen, newest kept; shared under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shipments: dict[str, Known] = {}
        self.recent: deque[str] = deque(maxlen=400)
        self.orders: deque[tuple[str, tuple[str, ...]]] = deque(maxlen=400)

    def learn_order(self, order: dict[str, Any]) -> None:
        with self.lock:
            self.orders.append((order["order_id"], tuple(i["item_id"] for i in order["items"])))
            for s in order.get("shipments", []):
                items = {
                    i["item_id"] for i in order["items"] if i["shipment_id"] == s["shipment_id"]
                }
                self._learn(
                    s["shipment_id"], order["order_id"], s["facility_id"], s["state"], items
                )

    def learn_shipment(self, shipment: dict[str, Any]) -> None:
        with self.lock:
            items = {i["item_id"] for i in shipment["items"]}
            self._learn(
                shipment["shipment_id"],
                shipment["order_id"],
                shipment["facility_id"],
                shipment["state"],
                items,
                replace=True,
            )

    def learn_routed(self, routed: list[dict[str, Any]]) -> None:
        with self.lock:
            for r in routed:
                if r.get("shipment_id") and r.get("facility_id"):
                    self._learn(
                        r["shipment_id"], r["order_id"], r["facility_id"], "ready", {r["item_id"]}
                    )

    def _learn(
        self,
        shipment_id: str,
        order_id: str,
        facility_id: str,
        state: str,
        items: set[str],
        *,
        replace: bool = False,
    ) -> None:
        known = self.shipments.get(shipment_id)
        if known is None:
            known = self.shipments[shipment_id] = Known(shipment_id, order_id, facility_id, state)
        known.state = state
        known.items = set(items) if replace else known.items | items
        self.recent.append(shipment_id)

    def pick_shipment(self, rng: random.Random, states: set[str] | None = None) -> Known | None:
        with self.lock:
            pool = [
                self.shipments[s]
                for s in set(self.recent)
                if states is None or self.shipments[s].state in states
            ]
            if not pool:
                return None
            chosen = rng.choice(pool)
            return Known(
                chosen.shipment_id,
                chosen.order_id,
                chosen.facility_id,
                chosen.state,
                set(chosen.items),
            )

    def pick_order(self, rng: random.Random) -> tuple[str, tuple[str, ...]] | None:
        with self.lock:
            return rng.choice(self.orders) if self.orders else None

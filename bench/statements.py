"""SQL statements per order creation and per rejection, counted in process.

Run as a child process with the version to measure on PYTHONPATH (see versions.py), against a
database already migrated and a token already made. The application is the one `reroute serve`
runs (`reroute.app:from_environment`, webhook delivery off so that only requests touch the
database), driven through the HTTP API in this process; every statement sent to the database is
counted by a `before_cursor_execute` listener on all engines, and every COMMIT by a `commit`
listener. The first requests fill the caches and are left out of the counts. Prints one JSON line.

    PYTHONPATH=src python bench/statements.py --url URL --token TOKEN [--requests 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from typing import Any

WARM_UP = 5
STORES = 3
STOCK = 100_000
PRODUCT = "STMT-P"


class Counter:
    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0

    def statement(self, *_: Any) -> None:
        self.statements += 1

    def commit(self, *_: Any) -> None:
        self.commits += 1


def _checked(response: Any, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json()


def measure(url: str, token: str, requests: int) -> dict[str, Any]:
    os.environ["REROUTE_DATABASE_URL"] = url
    os.environ["REROUTE_SERVE_WORKER"] = "false"
    os.environ["REROUTE_LOG_LEVEL"] = "warning"
    from fastapi.testclient import TestClient
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from reject import order_body
    from reroute.app import from_environment
    from server import near_city

    counter = Counter()
    event.listen(Engine, "before_cursor_execute", counter.statement)
    event.listen(Engine, "commit", counter.commit)
    rng = random.Random(5)
    per: dict[str, list[tuple[int, int]]] = {"order": [], "rejection": []}
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(from_environment(), headers=headers) as client:
        for n in range(STORES):
            latitude, longitude = near_city(rng)
            _checked(
                client.put(
                    f"/api/v1/facilities/S{n}",
                    json={
                        "name": f"Statement store {n}",
                        "kind": "store",
                        "external_location_id": f"{500 + n}",
                        "fulfiller_id": "70125",
                        "latitude": latitude,
                        "longitude": longitude,
                        "capabilities": ["ship", "pickup"],
                        "sequence": n,
                    },
                ),
                200,
                201,
            )
        body = {"sku": "SKU-S", "upc": "841111111111", "part_number": "2999", "name": "Stmt"}
        _checked(client.put(f"/api/v1/products/{PRODUCT}", json=body), 200, 201)
        for n in range(STORES):
            _checked(
                client.put(
                    f"/api/v1/facilities/S{n}/inventory/{PRODUCT}",
                    json={"quantity_on_hand": STOCK},
                ),
                200,
                201,
            )
        items = []
        for n in range(WARM_UP + requests):
            before = (counter.statements, counter.commits)
            answer = _checked(
                client.post("/api/v1/orders", json=order_body(f"ST-{n}", PRODUCT, rng)), 201
            )
            if n >= WARM_UP:
                per["order"].append((counter.statements - before[0], counter.commits - before[1]))
            item = answer["items"][0]
            if not item.get("shipment_id"):
                raise RuntimeError(f"order ST-{n} was not routed: {item}")
            items.append(item)
        for n, item in enumerate(items):
            before = (counter.statements, counter.commits)
            _checked(
                client.post(
                    f"/api/v1/shipments/{item['shipment_id']}/items/{item['item_id']}/reject",
                    json={"reason_id": "DAMAGED", "comment": "statements"},
                ),
                200,
            )
            if n >= WARM_UP:
                per["rejection"].append(
                    (counter.statements - before[0], counter.commits - before[1])
                )
    return {
        kind: {
            "statements_median": statistics.median(s for s, _ in counts),
            "statements_min": min(s for s, _ in counts),
            "statements_max": max(s for s, _ in counts),
            "commits_median": statistics.median(c for _, c in counts),
            "requests": len(counts),
        }
        for kind, counts in per.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=20, help="counted requests of each kind")
    args = parser.parse_args()
    print(json.dumps(measure(args.url, args.token, max(1, args.requests))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

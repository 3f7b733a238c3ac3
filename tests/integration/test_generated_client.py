"""A Python client generated from the served `/openapi.json` by openapi-python-client works
against a real server: it reads every answer, a repeat create and a 422 problem included.

The generator lives in a virtual environment of its own (`make codegen`), since its pins clash
with the project's; the generated code goes to a temporary directory. Without the generator, or
without what the generated code imports, the test skips saying why; under CI=true it fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import IN_CI, make_token
from tests.servers import servers

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = os.environ.get(
    "REROUTE_OPENAPI_PYTHON_CLIENT",
    str(ROOT / ".venv" / "codegen" / "bin" / "openapi-python-client"),
)
#: What the generated code imports besides the standard library.
CLIENT_NEEDS = {"httpx": "httpx", "attrs": "attrs", "dateutil": "python-dateutil"}


def unavailable() -> str | None:
    if not Path(GENERATOR).exists() and shutil.which(GENERATOR) is None:
        return f"no openapi-python-client at {GENERATOR} (run `make codegen`)"
    missing = [p for m, p in CLIENT_NEEDS.items() if importlib.util.find_spec(m) is None]
    if missing:
        return "the generated client needs " + ", ".join(missing) + " in the test environment"
    return None


@pytest.fixture
def generator() -> str:
    problem = unavailable()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)
    return GENERATOR


def generate(generator: str, document: dict[str, Any], into: Path) -> ModuleType:
    """Generate a client package from `document` under `into` and import it."""
    package = f"reroute_client_{uuid.uuid4().hex[:8]}"
    spec = into / "openapi.json"
    spec.write_text(json.dumps(document))
    config = into / "config.json"
    config.write_text(json.dumps({"package_name_override": package, "post_hooks": []}))
    done = subprocess.run(
        [
            *(generator, "generate", "--path", str(spec), "--meta", "none"),
            *("--config", str(config), "--output-path", str(into / package)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(into))


@pytest.fixture
def served(database_url: str, context: Context, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real server on the test database, and an admin token of it."""
    token = make_token(context, Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    with servers(database_url, tmp_path, 1) as (server,):
        yield server.url, token
        assert server.error_count() == 0, server.errors()


def call(package: ModuleType, api: str, /, **arguments: Any) -> Any:
    """`api` ("orders.create_order") of the generated `package`, with its full answer."""
    module = importlib.import_module(f"{package.__name__}.api.{api}")
    return module.sync_detailed(**arguments)


def test_a_generated_client_runs_an_integration(
    generator: str, served: tuple[str, str], tmp_path: Path
) -> None:
    url, token = served
    document = httpx.get(f"{url}/openapi.json").json()
    generated = generate(generator, document, tmp_path)
    models = importlib.import_module(f"{generated.__name__}.models")
    api = generated.AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)

    # Two stores with stock, the nearer one at the ship-to address.
    near, far, product = (f"{p}-{uuid.uuid4().hex[:8]}" for p in ("F", "F", "P"))
    for facility, north in ((near, 0.0), (far, 0.2)):
        body = models.FacilityIn.from_dict(
            {
                "name": facility,
                "kind": "store",
                "external_location_id": facility,
                "fulfiller_id": "70125",
                "latitude": 41.88 + north,
                "longitude": -87.63,
            }
        )
        created = call(
            generated,
            "facilities_and_products.put_facility",
            facility_id=facility,
            client=api,
            body=body,
        )
        assert created.status_code == 201
        assert isinstance(created.parsed, models.FacilityOut)
        again = call(
            generated,
            "facilities_and_products.put_facility",
            facility_id=facility,
            client=api,
            body=body,
        )
        assert again.status_code == 200
        assert again.parsed.facility_id == facility
    product_body = models.ProductIn.from_dict(
        {"sku": product, "upc": product, "part_number": product, "name": "Linen shirt"}
    )
    made = call(
        generated,
        "facilities_and_products.put_product",
        product_id=product,
        client=api,
        body=product_body,
    )
    assert made.status_code == 201
    for facility in (near, far):
        counted = call(
            generated,
            "inventory.count_stock",
            facility_id=facility,
            product_id=product,
            client=api,
            body=models.StockCountIn(quantity_on_hand=5),
        )
        assert counted.parsed.quantity_on_hand == 5

    # An order: 201 when new, 200 with the same order on a repeat.
    order_id = f"O-{uuid.uuid4().hex[:8]}"
    order = models.OrderIn.from_dict(
        {
            "order_id": order_id,
            "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
            "ship_to": {"city": "Chicago", "latitude": 41.88, "longitude": -87.63},
            "items": [{"item_id": "1", "product_id": product, "quantity": 1}],
        }
    )
    first = call(
        generated, "orders.create_order", client=api, body=order, idempotency_key=uuid.uuid4().hex
    )
    assert first.status_code == 201
    assert isinstance(first.parsed, models.OrderOut)
    repeat = call(generated, "orders.create_order", client=api, body=order)
    assert repeat.status_code == 200
    assert isinstance(repeat.parsed, models.OrderOut)
    placed = first.parsed.items[0]
    assert (placed.state, placed.facility_id) == ("ready", near)

    # The store rejects it; it goes to the other store.
    rejected = call(
        generated,
        "rejection.reject_item",
        shipment_id=placed.shipment_id,
        item_id="1",
        client=api,
        body=models.RejectIn(reason_id="NOT_IN_STOCK", comment="Shelf empty"),
        x_request_id="generated-client-1",
    )
    assert rejected.status_code == 200
    assert isinstance(rejected.parsed, models.RejectionOut)
    assert rejected.parsed.rejected[0].facility_id == near
    read = call(generated, "orders.get_order", order_id=order_id, client=api)
    assert isinstance(read.parsed, models.OrderOut)
    moved = read.parsed.items[0]
    assert (moved.state, moved.facility_id) == ("ready", far)
    assert "generated-client-1" in {h.request_id for h in read.parsed.history}

    # Refusals come back as parsed problems.
    invalid = models.OrderIn.from_dict(
        {
            "order_id": f"O-{uuid.uuid4().hex[:8]}",
            "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
            "items": [{"item_id": "1", "product_id": product, "quantity": 0}],
        }
    )
    refused = call(generated, "orders.create_order", client=api, body=invalid)
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.status == 422
    assert [e.path for e in refused.parsed.errors] == ["items.0.quantity"]
    missing = call(generated, "orders.get_order", order_id="no-such-order", client=api)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Problem)
    anonymous = generated.Client(base_url=url, raise_on_unexpected_status=True)
    unsigned = call(generated, "orders.get_order", order_id=order_id, client=anonymous)
    assert unsigned.status_code == 401
    assert isinstance(unsigned.parsed, models.Problem)

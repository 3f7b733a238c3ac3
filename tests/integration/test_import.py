"""`reroute import`: products, facilities, stock and orders from CSV or JSON, all or nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.sql.schema import Table
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.domain.facilities import Capability, FacilityKind
from reroute.domain.orders import ItemState, ShippingMethod
from reroute.importing import ImportFailed, import_path
from reroute.services.context import Context
from reroute.storage.tables import (
    facilities,
    inventory_ledger,
    order_history,
    order_items,
    orders,
    products,
)
from reroute.storage.unit_of_work import unit_of_work
from tests.support import facility_body, new_id, order_body, product_body

PRODUCT_COLUMNS = ["product_id", "sku", "upc", "part_number", "name", "image_url"]
FACILITY_COLUMNS = [
    "facility_id",
    "name",
    "kind",
    "external_location_id",
    "fulfiller_id",
    "latitude",
    "longitude",
    "capabilities",
    "daily_capacity",
    "safety_stock",
    "active",
]
STOCK_COLUMNS = ["facility_id", "product_id", "quantity_on_hand"]
ORDER_COLUMNS = [
    "order_id",
    "customer_name",
    "customer_email",
    "shipping_method",
    "pickup_facility_id",
    "ship_complete",
    "catalog_id",
    "ship_to_city",
    "ship_to_latitude",
    "ship_to_longitude",
    "item_id",
    "product_id",
    "quantity",
]


# Helpers ----------------------------------------------------------------------------------


def write_csv(path: Path, columns: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def write_json(path: Path, items: list[Any]) -> Path:
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def run(context: Context, kind: str, path: Path) -> tuple[int, str]:
    """Import a file; answers the rows written and what was said on the console."""
    out = io.StringIO()
    written = import_path(context, kind, path, Console(file=out, width=200))
    return written, out.getvalue()


def refused(context: Context, kind: str, path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as failure:
        run(context, kind, path)
    return failure.value.problems


def count(context: Context, table: Table) -> int:
    with unit_of_work(context.db, write=False) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())


def product_row(product_id: str, **overrides: Any) -> list[Any]:
    body = product_body(**overrides)
    return [product_id, *(body.get(c, "") for c in PRODUCT_COLUMNS[1:])]


def facility_row(facility_id: str, capabilities: str = "ship|pickup") -> list[Any]:
    body = facility_body()
    values = {**body, "facility_id": facility_id, "capabilities": capabilities}
    return [values.get(c, "") for c in FACILITY_COLUMNS]


def load_catalog(context: Context, tmp_path: Path, facilities: int, products: int) -> Any:
    """Facilities and products imported from files; answers their ids."""
    facility_ids = [new_id("F") for _ in range(facilities)]
    product_ids = [new_id("P") for _ in range(products)]
    write_csv(tmp_path / "f.csv", FACILITY_COLUMNS, [facility_row(f) for f in facility_ids])
    write_csv(tmp_path / "p.csv", PRODUCT_COLUMNS, [product_row(p) for p in product_ids])
    run(context, "facilities", tmp_path / "f.csv")
    run(context, "products", tmp_path / "p.csv")
    return facility_ids, product_ids


def order_line(order_id: str, item_id: str, product_id: str, quantity: int = 1) -> list[Any]:
    values = {
        "order_id": order_id,
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_method": "standard",
        "ship_complete": "false",
        "ship_to_city": "Chicago",
        "ship_to_latitude": "41.88",
        "ship_to_longitude": "-87.63",
        "item_id": item_id,
        "product_id": product_id,
        "quantity": str(quantity),
    }
    return [values.get(c, "") for c in ORDER_COLUMNS]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# Each kind, from CSV and from JSON ------------------------------------------------------------


def test_products_from_csv_are_created_then_replaced_by_their_id(
    context: Context, tmp_path: Path
) -> None:
    first, second = new_id("P"), new_id("P")
    path = write_csv(
        tmp_path / "products.csv",
        PRODUCT_COLUMNS,
        [
            product_row(first, name="Linen shirt"),
            product_row(second, image_url="https://example.com/b.png"),
        ],
    )
    assert run(context, "products", path)[0] == 2
    write_csv(path, PRODUCT_COLUMNS, [product_row(first, name="Wool shirt")])
    assert run(context, "products", path)[0] == 1
    with unit_of_work(context.db, write=False) as uow:
        found = uow.products.get_many([first, second])
    assert found[first].name == "Wool shirt"
    assert found[first].image_url is None  # an empty cell leaves the field at its default
    assert found[second].image_url == "https://example.com/b.png"


def test_products_from_json_are_held_to_the_api_body(context: Context, tmp_path: Path) -> None:
    product_id = new_id("P")
    body = product_body(name="  Linen shirt  ", image_url="https://example.com/a.png")
    path = write_json(tmp_path / "products.json", [{"product_id": product_id, **body}])
    assert run(context, "products", path)[0] == 1
    with unit_of_work(context.db, write=False) as uow:
        product = uow.products.get(product_id)
    assert product is not None
    assert (product.sku, product.name) == (body["sku"], "Linen shirt")


def test_facilities_from_csv_list_capabilities_separated_by_bars_or_spaces(
    context: Context, tmp_path: Path
) -> None:
    bars, spaces, empty = new_id("F"), new_id("F"), new_id("F")
    rows = [
        facility_row(bars, "ship|pickup|same_day"),
        facility_row(spaces, "pickup  same_day"),
        facility_row(empty, ""),
    ]
    rows[1][FACILITY_COLUMNS.index("kind")] = "warehouse"
    rows[1][FACILITY_COLUMNS.index("daily_capacity")] = "40"
    rows[1][FACILITY_COLUMNS.index("active")] = "false"
    path = write_csv(tmp_path / "facilities.csv", FACILITY_COLUMNS, rows)
    assert run(context, "facilities", path)[0] == 3
    with unit_of_work(context.db, write=False) as uow:
        found = {f.id: f for f in uow.facilities.list([bars, spaces, empty])}
    assert found[bars].capabilities == [Capability.SHIP, Capability.PICKUP, Capability.SAME_DAY]
    assert found[spaces].capabilities == [Capability.PICKUP, Capability.SAME_DAY]
    assert found[empty].capabilities == [Capability.SHIP]  # the API's default
    assert found[spaces].kind is FacilityKind.WAREHOUSE
    assert (found[spaces].daily_capacity, found[spaces].active) == (40, False)
    assert (found[bars].daily_capacity, found[bars].safety_stock) == (None, 0)


def test_facilities_from_json_are_held_to_the_api_body(context: Context, tmp_path: Path) -> None:
    facility_id = new_id("F")
    body = facility_body(capabilities=["ship", "same_day"], safety_stock=2, sequence=-3)
    path = write_json(tmp_path / "facilities.json", [{"facility_id": facility_id, **body}])
    assert run(context, "facilities", path)[0] == 1
    with unit_of_work(context.db, write=False) as uow:
        facility = uow.facilities.get(facility_id)
    assert facility is not None
    assert facility.capabilities == [Capability.SHIP, Capability.SAME_DAY]
    assert (facility.safety_stock, facility.sequence) == (2, -3)


def test_stock_counts_from_csv_set_qoh_and_atp_with_one_ledger_row_each(
    context: Context, tmp_path: Path
) -> None:
    (facility,), (shirt, hat) = load_catalog(context, tmp_path, 1, 2)
    path = write_csv(
        tmp_path / "stock.csv", STOCK_COLUMNS, [[facility, shirt, 5], [facility, hat, 0]]
    )
    assert run(context, "stock", path)[0] == 2
    write_csv(path, STOCK_COLUMNS, [[facility, shirt, 3]])
    run(context, "stock", path)
    with unit_of_work(context.db, write=False) as uow:
        level = uow.inventory.get(facility, shirt)
        ledger = uow.inventory.ledger(facility, shirt)
        hats = uow.inventory.ledger(facility, hat)
    assert (level.quantity_on_hand, level.available_to_promise) == (3, 3)
    assert [(r["qoh_diff"], r["cause"], r["reference"]) for r in ledger] == [
        (-2, "stock_count", "import:stock.csv"),
        (5, "stock_count", "import:stock.csv"),
    ]
    assert hats == []  # a count that changes nothing moves nothing


def test_stock_counts_from_json_set_qoh_and_atp(context: Context, tmp_path: Path) -> None:
    (facility,), (product,) = load_catalog(context, tmp_path, 1, 1)
    count_json = {"facility_id": facility, "product_id": product, "quantity_on_hand": 12}
    path = write_json(tmp_path / "stock.json", [count_json])
    assert run(context, "stock", path)[0] == 1
    with unit_of_work(context.db, write=False) as uow:
        level = uow.inventory.get(facility, product)
    assert (level.quantity_on_hand, level.available_to_promise, level.reserved) == (12, 12, 0)


def test_a_stock_file_larger_than_one_batch_is_written_whole_and_ledger_sums_match(
    context: Context, tmp_path: Path
) -> None:
    facility_ids, product_ids = load_catalog(context, tmp_path, 30, 40)
    rows = [
        [f, p, (i * 7 + j) % 11]
        for i, f in enumerate(facility_ids)
        for j, p in enumerate(product_ids)
    ]
    path = write_csv(tmp_path / "stock.csv", STOCK_COLUMNS, rows)
    assert run(context, "stock", path)[0] == 1200
    with unit_of_work(context.db, write=False) as uow:
        levels = uow.inventory.all_levels()
        sums = uow.inventory.ledger_sums()
    assert len(levels) == 1200
    assert {(f, p): q for f, p, q in rows} == {k: lv.quantity_on_hand for k, lv in levels.items()}
    for key, level in levels.items():
        expected = (level.quantity_on_hand, level.available_to_promise, level.reserved)
        assert sums.get(key, (0, 0, 0)) == expected


def test_orders_from_csv_make_one_order_of_consecutive_lines_with_the_same_id(
    context: Context, tmp_path: Path
) -> None:
    (pickup,), (shirt, hat) = load_catalog(context, tmp_path, 1, 2)
    shipped, collected = new_id("O"), new_id("O")
    second_line = order_line(shipped, "2", hat, 2)
    for column in ("customer_name", "customer_email", "ship_to_latitude", "ship_to_longitude"):
        second_line[ORDER_COLUMNS.index(column)] = ""  # an order's later lines may leave them out
    pickup_line = order_line(collected, "1", shirt)
    pickup_line[ORDER_COLUMNS.index("shipping_method")] = "pickup"
    pickup_line[ORDER_COLUMNS.index("pickup_facility_id")] = pickup
    pickup_line[ORDER_COLUMNS.index("ship_complete")] = "true"
    rows = [order_line(shipped, "1", shirt), second_line, pickup_line]
    path = write_csv(tmp_path / "orders.csv", ORDER_COLUMNS, rows)

    assert run(context, "orders", path)[0] == 3

    with unit_of_work(context.db, write=False) as uow:
        found = uow.orders.get_many([shipped, collected])
        history = uow.orders.history(shipped)
    order = found[shipped]
    assert [(i.item_id, i.product_id, i.quantity, i.state) for i in order.items] == [
        ("1", shirt, 1, ItemState.QUEUED),
        ("2", hat, 2, ItemState.QUEUED),
    ]
    assert (order.customer_name, order.ship_to.city, order.ship_to.latitude) == (
        "Ada Lovelace",
        "Chicago",
        41.88,
    )
    assert found[collected].shipping_method is ShippingMethod.PICKUP
    assert (found[collected].pickup_facility_id, found[collected].ship_complete) == (pickup, True)
    assert [(h["event"], h["actor"]) for h in history] == [("created", "import")] * 2


def test_orders_from_json_take_the_api_body_and_the_api_sees_them_as_the_same_order(
    context: Context, client: TestClient, integration: dict[str, str], tmp_path: Path
) -> None:
    _, (shirt, hat) = load_catalog(context, tmp_path, 1, 2)
    body = order_body([(shirt, 1), (hat, 3)], ship_complete=True, priority=5)
    path = write_json(tmp_path / "orders.json", [body])

    assert run(context, "orders", path)[0] == 1

    again = client.post("/api/v1/orders", json=body, headers=integration)
    assert again.status_code == 200, again.text  # the same order: created once, by the import
    assert [i["quantity"] for i in again.json()["items"]] == [1, 3]
    other = client.post("/api/v1/orders", json={**body, "priority": 6}, headers=integration)
    assert other.status_code == 409


# Bad rows ---------------------------------------------------------------------------------------


def test_a_bad_csv_row_is_reported_with_its_line_number_and_field(
    context: Context, tmp_path: Path
) -> None:
    rows = [product_row(new_id("P")), product_row(new_id("P")), product_row(new_id("P"), sku="")]
    path = write_csv(tmp_path / "products.csv", PRODUCT_COLUMNS, rows)
    assert refused(context, "products", path) == [
        "products.csv:4: sku: String should have at least 1 character"
    ]


def test_a_bad_json_item_is_reported_with_its_index_and_field_path(
    context: Context, tmp_path: Path
) -> None:
    _, (shirt,) = load_catalog(context, tmp_path, 0, 1)
    good = order_body([(shirt, 1)])
    bad = order_body([(shirt, 1), (shirt, 0)])
    path = write_json(tmp_path / "orders.json", [good, bad, "not an order"])
    assert refused(context, "orders", path) == [
        "orders.json: item 1: items.1.quantity: Input should be greater than or equal to 1",
        "orders.json: item 2: expected an object, found a string",
    ]


def test_every_bad_row_is_reported_in_file_order_not_only_the_first(
    context: Context, tmp_path: Path
) -> None:
    (facility,), (product,) = load_catalog(context, tmp_path, 1, 1)
    rows = [
        [facility, product, 1],
        ["", product, 2],
        [facility, product, -1],
        [facility, "no such", 3],
        [new_id("F"), product, 4],
        [facility, product, 5],
    ]
    problems = refused(context, "stock", write_csv(tmp_path / "stock.csv", STOCK_COLUMNS, rows))
    assert problems[0] == "stock.csv:3: facility_id: String should have at least 1 character"
    assert (
        problems[1] == "stock.csv:4: quantity_on_hand: Input should be greater than or equal to 0"
    )
    assert problems[2].startswith("stock.csv:5: product_id: String should match pattern")
    assert problems[3] == f"stock.csv:6: facility_id: No facility {rows[4][0]}."
    assert problems[4] == (
        f"stock.csv:7: product_id: a count of {product} at {facility} "
        "already appears at stock.csv:2"
    )
    assert len(problems) == 5


def test_a_file_with_one_bad_row_among_good_ones_writes_nothing(
    context: Context, tmp_path: Path
) -> None:
    rows = [product_row(new_id("P")) for _ in range(5)]
    rows.insert(3, product_row(new_id("P"), image_url="not a url"))
    path = write_csv(tmp_path / "products.csv", PRODUCT_COLUMNS, rows)
    problems = refused(context, "products", path)
    assert len(problems) == 1
    assert problems[0].startswith("products.csv:5: image_url: ")
    assert count(context, products) == 0


def test_a_stock_file_with_one_unknown_facility_leaves_every_level_as_it_was(
    context: Context, tmp_path: Path
) -> None:
    (facility,), (shirt, hat) = load_catalog(context, tmp_path, 1, 2)
    path = write_csv(tmp_path / "stock.csv", STOCK_COLUMNS, [[facility, shirt, 5]])
    run(context, "stock", path)
    unknown = new_id("F")
    rows = [[facility, shirt, 9], [facility, hat, 4], [unknown, hat, 1]]
    problems = refused(context, "stock", write_csv(path, STOCK_COLUMNS, rows))
    assert problems == [f"stock.csv:4: facility_id: No facility {unknown}."]
    with unit_of_work(context.db, write=False) as uow:
        assert uow.inventory.get(facility, shirt).quantity_on_hand == 5
        assert uow.inventory.get(facility, hat).quantity_on_hand == 0
    assert count(context, inventory_ledger) == 1


def test_an_order_referring_to_an_unknown_product_writes_nothing(
    context: Context, tmp_path: Path
) -> None:
    _, (shirt,) = load_catalog(context, tmp_path, 0, 1)
    good, bad, unknown = new_id("O"), new_id("O"), new_id("P")
    rows = [
        order_line(good, "1", shirt),
        order_line(bad, "1", shirt),
        order_line(bad, "2", unknown),
    ]
    path = write_csv(tmp_path / "orders.csv", ORDER_COLUMNS, rows)
    assert refused(context, "orders", path) == [f"orders.csv:4: product_id: No product {unknown}."]
    assert (count(context, orders), count(context, order_items)) == (0, 0)
    assert count(context, order_history) == 0


def test_an_order_whose_domain_rules_fail_is_reported_on_the_line_of_the_field(
    context: Context, tmp_path: Path
) -> None:
    _, (shirt,) = load_catalog(context, tmp_path, 0, 1)
    order_id = new_id("O")
    rows = [order_line(order_id, "1", shirt), order_line(order_id, "1", shirt)]
    for row in rows:
        row[ORDER_COLUMNS.index("ship_to_latitude")] = ""
    path = write_csv(tmp_path / "orders.csv", ORDER_COLUMNS, rows)
    assert refused(context, "orders", path) == [
        "orders.csv:2: ship_to: Give both ship-to latitude and longitude, or neither.",
        "orders.csv:3: item_id: Item id '1' is repeated.",
    ]


def test_lines_of_one_order_that_disagree_or_are_apart_are_reported(
    context: Context, tmp_path: Path
) -> None:
    _, (shirt,) = load_catalog(context, tmp_path, 0, 1)
    first, second = new_id("O"), new_id("O")
    disagreeing = order_line(first, "2", shirt)
    disagreeing[ORDER_COLUMNS.index("customer_name")] = "Grace Hopper"
    rows = [
        order_line(first, "1", shirt),
        disagreeing,
        order_line(second, "1", shirt),
        order_line(first, "3", shirt),
    ]
    path = write_csv(tmp_path / "orders.csv", ORDER_COLUMNS, rows)
    assert refused(context, "orders", path) == [
        "orders.csv:3: customer_name: 'Grace Hopper' differs from 'Ada Lovelace' at orders.csv:2",
        f"orders.csv:5: order_id: order {first} already appears at orders.csv:2; "
        "keep lines together",
    ]


def test_a_header_that_lacks_a_required_column_or_names_an_unknown_one_is_refused(
    context: Context, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "products.csv",
        ["product_id", "sku", "upc", "name", "colour"],
        [[new_id("P"), "S", "U", "Shirt", "red"]],
    )
    problems = refused(context, "products", path)
    assert problems[0] == "products.csv:1: the header lacks column(s) part_number"
    assert problems[1].startswith("products.csv:1: unknown column(s) colour; expected some of")


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("products.txt", "", "products.txt: expected a .csv or .json file"),
        ("products.json", '{"product_id": "P"}', "products.json: expected a JSON list"),
        ("products.json", "[1,", "products.json:1: is not valid JSON"),
        ("products.csv", "", "products.csv: is empty; expected a header line"),
    ],
)
def test_a_file_that_is_not_a_list_of_records_is_refused_as_a_whole(
    context: Context, tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (found,) = refused(context, "products", path)
    assert found.startswith(problem)


# Repeating an import --------------------------------------------------------------------------


def test_importing_the_same_orders_file_again_is_harmless(context: Context, tmp_path: Path) -> None:
    _, (shirt, hat) = load_catalog(context, tmp_path, 0, 2)
    first, second = new_id("O"), new_id("O")
    rows = [
        order_line(first, "1", shirt),
        order_line(first, "2", hat),
        order_line(second, "1", hat),
    ]
    path = write_csv(tmp_path / "orders.csv", ORDER_COLUMNS, rows)
    assert run(context, "orders", path) == (3, "")

    written, said = run(context, "orders", path)

    assert written == 0
    assert "2 order(s) in orders.csv were already present with the same content" in said
    assert (count(context, orders), count(context, order_items)) == (2, 3)
    assert count(context, order_history) == 3


def test_a_file_naming_an_existing_order_id_with_other_content_writes_nothing(
    context: Context, tmp_path: Path
) -> None:
    _, (shirt,) = load_catalog(context, tmp_path, 0, 1)
    taken = order_body([(shirt, 1)])
    run(context, "orders", write_json(tmp_path / "first.json", [taken]))
    new = order_body([(shirt, 1)])
    changed = {**taken, "items": [{"item_id": "1", "product_id": shirt, "quantity": 2}]}
    path = write_json(tmp_path / "orders.json", [new, changed])
    assert refused(context, "orders", path) == [
        f"orders.json: item 1: order_id: Order {taken['order_id']} already exists with different "
        "content; repeat it unchanged, or use a new order id."
    ]
    assert count(context, orders) == 1


# The command ----------------------------------------------------------------------------------


def test_the_command_imports_a_file_and_says_how_many_rows(
    context: Context, database_url: str, tmp_path: Path
) -> None:
    rows = [product_row(new_id("P")) for _ in range(3)]
    path = write_csv(tmp_path / "products.csv", PRODUCT_COLUMNS, rows)

    result = invoke("import", "products", str(path), "--database-url", database_url)

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.strip() == "Imported 3 products rows from products.csv"
    assert count(context, products) == 3


def test_the_command_lists_the_problems_exits_1_and_says_nothing_was_imported(
    context: Context, database_url: str, tmp_path: Path
) -> None:
    rows = [facility_row(new_id("F")), facility_row(new_id("F")), facility_row(new_id("F"))]
    rows[1][FACILITY_COLUMNS.index("latitude")] = "91"
    rows[2][FACILITY_COLUMNS.index("capabilities")] = "ship|teleport"
    path = write_csv(tmp_path / "facilities.csv", FACILITY_COLUMNS, rows)

    result = invoke("import", "facilities", str(path), "--database-url", database_url)

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "facilities.csv:3: latitude: Input should be less than or equal to 90"
    assert lines[1].startswith("facilities.csv:4: capabilities.1: Input should be 'ship'")
    assert lines[2].startswith("Nothing was imported from facilities.csv: 2 problems")
    assert count(context, facilities) == 0


def test_the_command_shows_fifty_problems_and_counts_the_rest(
    database_url: str, tmp_path: Path
) -> None:
    rows = [product_row(new_id("P"), sku="") for _ in range(60)]
    path = write_csv(tmp_path / "products.csv", PRODUCT_COLUMNS, rows)

    result = invoke("import", "products", str(path), "--database-url", database_url)

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 52
    assert lines[49].startswith("products.csv:51: sku:")
    assert lines[50] == "... and 10 more problems"
    assert lines[51].startswith("Nothing was imported from products.csv: 60 problems")


def test_the_command_refuses_an_unknown_kind_or_a_missing_file_as_usage_errors(
    database_url: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "products.csv", PRODUCT_COLUMNS, [])
    assert invoke("import", "customers", str(path), "--database-url", database_url).exit_code == 2
    missing = str(tmp_path / "missing.csv")
    assert invoke("import", "products", missing, "--database-url", database_url).exit_code == 2

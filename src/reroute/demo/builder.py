"""Load the demo retailer the way an integrator's data would arrive, through the services.

Facilities and products one by one, a stock count per facility and product in one transaction,
then orders one by one (each routed as it is created, as the settings say).
"""

from __future__ import annotations

import time

from rich.console import Console

from reroute.demo.plan import SEED, plan_demo
from reroute.domain.access import SYSTEM, Role
from reroute.domain.facilities import FacilityKind
from reroute.services import catalog, inventory, orders, tokens
from reroute.services.context import Context
from reroute.storage.unit_of_work import unit_of_work

BASE_URL = "http://127.0.0.1:8000"
#: Written as the reference of the demo's stock counts and the request id of its orders.
REFERENCE = "demo"


def build_demo(
    context: Context, console: Console, *, base_url: str = BASE_URL, seed: int = SEED
) -> list[str]:
    """Load the demo retailer into a migrated database; answers the lines that say how to use it."""
    started = time.perf_counter()
    plan = plan_demo(seed)
    with console.status("Building the demo retailer…"):
        for facility in plan.facilities:
            catalog.put_facility(context, facility, SYSTEM)
        for product in plan.products:
            catalog.put_product(context, product, SYSTEM)
        with unit_of_work(context.db) as uow:
            for count in plan.stock:
                inventory.apply_count(
                    uow, count.facility_id, count.product_id, count.quantity_on_hand, REFERENCE
                )
        for body in plan.orders:
            orders.create_order(context, body.to_domain(), body.body_hash(), SYSTEM, REFERENCE)
    stores = sum(f.kind is FacilityKind.STORE for f in plan.facilities)
    console.print(
        f"Built a Chicago retailer: {stores} stores, {len(plan.facilities) - stores} warehouses, "
        f"{len(plan.products)} products, {len(plan.orders)} orders "
        f"({time.perf_counter() - started:.1f} s).",
        soft_wrap=True,
    )
    return sign_in_lines(context, base_url)


def has_demo(context: Context) -> bool:
    """Whether the database already holds facilities (a demo built before)."""
    return bool(catalog.list_facilities(context, SYSTEM))


def sign_in_lines(context: Context, base_url: str = BASE_URL) -> list[str]:
    """Create an admin API token and say how to use it."""
    token, _ = tokens.create_token(context, Role.ADMIN, [], "demo", SYSTEM)
    return [
        "Your admin API token (shown once):",
        f"  export TOKEN={token}",
        f'  curl -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/facilities',
        f"API documentation: {base_url}/docs",
    ]

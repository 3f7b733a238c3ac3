"""Load the demo retailer the way an integrator's data would arrive, through the services.

Facilities and products one by one, a stock count per facility and product in one transaction,
then orders one by one (each routed as it is created, as the settings say), most of them over
the past week with what stores did with them since (`reroute.demo.history`).
"""

from __future__ import annotations

import random
import secrets
import time
from datetime import timedelta

from rich.console import Console

from reroute.demo import history
from reroute.demo.plan import SEED, plan_demo
from reroute.domain.access import SYSTEM, Role
from reroute.domain.clock import utcnow
from reroute.domain.facilities import FacilityKind
from reroute.domain.orders import ShipmentState
from reroute.services import catalog, fulfilment, inventory, orders, shipments, tokens, users
from reroute.services.context import Context
from reroute.storage.unit_of_work import unit_of_work

BASE_URL = "http://127.0.0.1:8000"
#: Written as the reference of the demo's stock counts and the request id of its orders.
REFERENCE = "demo"
DEMO_ADMIN = "admin@example.com"
DEMO_ASSOCIATE = "associate@example.com"


def build_demo(
    context: Context, console: Console, *, base_url: str = BASE_URL, seed: int = SEED
) -> list[str]:
    """Load the demo retailer into a migrated database; answers the lines that say how to use it."""
    started = time.perf_counter()
    plan = plan_demo(seed)
    now = utcnow()
    rng = random.Random(seed)
    arrivals = history.order_times(len(plan.orders), now, rng)
    with console.status("Building the demo retailer…"):
        with history.happening_at(arrivals[0] - timedelta(hours=1)):
            for facility in plan.facilities:
                catalog.put_facility(context, facility, SYSTEM)
            for product in plan.products:
                catalog.put_product(context, product, SYSTEM)
            with unit_of_work(context.db) as uow:
                for count in plan.stock:
                    inventory.apply_count(
                        uow, count.facility_id, count.product_id, count.quantity_on_hand, REFERENCE
                    )
            week = history.Week(
                context, rng, now, history.store_associates(context, plan.facilities)
            )
        for body, at in zip(plan.orders, arrivals, strict=True):
            week.until(at)
            with history.happening_at(at):
                orders.create_order(context, body.to_domain(), body.body_hash(), SYSTEM, REFERENCE)
            week.follow(body.order_id, at)
        week.until(now)
        # The associate's store has work in each of its lists: three started, one packed.
        ready = shipments.store_list(
            context, _demo_store(context), [ShipmentState.READY], SYSTEM, limit=3
        )
        for n, view in enumerate(ready.shipments):
            for step in ("start", "pack") if n == 0 else ("start",):
                fulfilment.advance(context, view.shipment.id, step, SYSTEM, REFERENCE)
    stores = sum(f.kind is FacilityKind.STORE for f in plan.facilities)
    console.print(
        f"Built a Chicago retailer: {stores} stores, {len(plan.facilities) - stores} warehouses, "
        f"{len(plan.products)} products, {len(plan.orders)} orders over the past week, "
        f"{week.rejections} issues reported by stores in it "
        f"({time.perf_counter() - started:.1f} s).",
        soft_wrap=True,
    )
    return sign_in_lines(context, base_url)


def has_demo(context: Context) -> bool:
    """Whether the database already holds facilities (a demo built before)."""
    return bool(catalog.list_facilities(context, SYSTEM))


def sign_in_lines(context: Context, base_url: str = BASE_URL) -> list[str]:
    """Create an admin API token, give the demo's admin and associate new passwords, and say
    how to use them."""
    token, _ = tokens.create_token(context, Role.ADMIN, [], "demo", SYSTEM)
    store = catalog.get_facility(context, _demo_store(context), SYSTEM)
    associate = _person(context, DEMO_ASSOCIATE, Role.ASSOCIATE, [store.id])
    admin = _person(context, DEMO_ADMIN, Role.ADMIN, [])
    return [
        "Your admin API token (shown once):",
        f"  export TOKEN={token}",
        f'  curl -H "Authorization: Bearer $TOKEN" {base_url}/api/v1/facilities',
        f"API documentation: {base_url}/docs",
        f"Sign in at {base_url}/login",
        f"  store associate at {store.name}: {DEMO_ASSOCIATE}  password {associate}",
        f"  admin: {DEMO_ADMIN}  password {admin}",
    ]


def _demo_store(context: Context) -> str:
    """The associate's store: the one the demo gave the most orders (or the one it has)."""
    known = users.find_user(context, DEMO_ASSOCIATE)
    if known is not None and known.facilities:
        return known.facilities[0]
    facilities = catalog.list_facilities(context, SYSTEM)
    stores = [f.id for f in facilities if f.kind is FacilityKind.STORE]

    def open_orders(store: str) -> int:
        states = [ShipmentState.READY, ShipmentState.IN_PROGRESS, ShipmentState.PACKED]
        return shipments.store_list(context, store, states, SYSTEM, limit=1).total

    return max(stores, key=lambda store: (open_orders(store), store))


def _person(context: Context, email: str, role: Role, facilities: list[str]) -> str:
    """Create the user, or give them a new password; answers the password."""
    password = secrets.token_hex(6)
    if users.find_user(context, email) is None:
        users.create_user(context, email, password, role, facilities, SYSTEM)
    else:
        users.set_password(context, email, password, SYSTEM)
    return password

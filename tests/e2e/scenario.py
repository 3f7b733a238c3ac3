"""The small retailer the browser tests work in, loaded through the services.

Two stores near the customers (Andersonville nearest, then Bucktown), both holding the linen
shirt. Ada's order is being picked at Andersonville (In progress); Grace's waits there (Open).
"""

from __future__ import annotations

from dataclasses import dataclass

from reroute.api.schemas.orders import OrderIn
from reroute.domain.access import SYSTEM, Role
from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
from reroute.domain.orders import ShipmentState
from reroute.services import catalog, fulfilment, inventory, orders, shipments, users
from reroute.services.context import Context
from tests.support import new_id

PASSWORD = "store-floor-2026"


@dataclass(frozen=True)
class Scenario:
    store_a: str
    store_b: str
    ada_order: str
    grace_order: str
    associate: str
    admin: str
    product_name: str = "Linen shirt, Navy"


def seed(context: Context) -> Scenario:
    stores = []
    for name, latitude, longitude in (
        ("Andersonville", 41.88, -87.63),
        ("Bucktown", 41.92, -87.68),
    ):
        facility = Facility(
            new_id(name.lower()[:5]),
            name,
            FacilityKind.STORE,
            new_id("loc"),
            "70125",
            latitude,
            longitude,
            [Capability.SHIP, Capability.PICKUP],
        )
        catalog.put_facility(context, facility, SYSTEM)
        stores.append(facility.id)
    product = Product(new_id("P"), "LS-NAVY-M", "084512000017", "31400007", "Linen shirt, Navy")
    catalog.put_product(context, product, SYSTEM)
    for store in stores:
        inventory.count_stock(context, store, product.id, 4, SYSTEM)
    placed = []
    for customer in ("Ada Lovelace", "Grace Hopper"):
        body = OrderIn.model_validate(
            {
                "order_id": new_id("W"),
                "customer": {"name": customer, "email": "customer@example.com"},
                "shipping_method": "standard",
                "ship_to": {"city": "Chicago", "latitude": 41.88, "longitude": -87.63},
                "items": [{"item_id": "1", "product_id": product.id, "quantity": 1}],
            }
        )
        orders.create_order(context, body.to_domain(), body.body_hash(), SYSTEM)
        placed.append(body.order_id)
    ada = shipments.store_list(context, stores[0], [ShipmentState.READY], SYSTEM, text="Ada")
    fulfilment.advance(context, ada.shipments[0].shipment.id, "start", SYSTEM)
    associate = f"{new_id('associate')}@example.com"
    admin = f"{new_id('admin')}@example.com"
    users.create_user(context, associate, PASSWORD, Role.ASSOCIATE, [stores[0]], SYSTEM)
    users.create_user(context, admin, PASSWORD, Role.ADMIN, [], SYSTEM)
    return Scenario(stores[0], stores[1], placed[0], placed[1], associate, admin)

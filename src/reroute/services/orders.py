"""Creating orders (idempotent on the order id) and reading one with its whole story."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from reroute import geocoding
from reroute.domain.access import LOADERS, Principal, absent
from reroute.domain.errors import Conflict, ErrorCollector, NotFound
from reroute.domain.orders import By, Order, Shipment
from reroute.services.context import Context
from reroute.services.notify import Notifier
from reroute.services.reference import reference
from reroute.services.routing import route_orders
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work


@dataclass
class OrderView:
    order: Order
    shipments: list[Shipment]
    history: list[dict[str, Any]]


def create_order(
    ctx: Context, order: Order, body_hash: str, actor: Principal, request_id: str | None = None
) -> tuple[Order, bool]:
    """Accept a new order; the same body again is a harmless repeat, another body a conflict.

    Answers the order and whether it was created by this call.
    """
    actor.require_role(*LOADERS, action="create order", target=f"order {order.id}")
    order.validate()

    def work(uow: UnitOfWork) -> tuple[str | None, Order | None]:
        known_products = reference(ctx, uow).products_of(uow, [i.product_id for i in order.items])
        # A repeat finds the id taken at the insert (nothing written) and is judged after.
        notifier = Notifier(ctx, uow)
        written = write_order(
            uow, order, body_hash, actor, request_id, set(known_products), notifier
        )
        if written is None:
            return None, None
        if ctx.settings(uow).route_on_create:
            route_orders(
                ctx,
                uow,
                [written],
                actor=actor.id,
                request_id=request_id,
                new_orders=True,
                notifier=notifier,
            )
        notifier.flush()
        return body_hash, written

    known, created = transact(ctx.db, work)
    if created is not None:
        return created, True
    if known is None:  # the id was taken: an earlier or a concurrent request created it
        with unit_of_work(ctx.db, write=False) as uow:
            known = uow.orders.body_hash(order.id)
    assert known is not None
    return _repeat(ctx, order.id, body_hash, known), False


def insert_order(
    uow: UnitOfWork,
    order: Order,
    body_hash: str,
    actor: Principal,
    request_id: str | None,
    known_products: set[str] | None = None,
    notifier: Notifier | None = None,
) -> bool:
    """`write_order`, answering whether the order was written (False: its id is taken)."""
    written = write_order(uow, order, body_hash, actor, request_id, known_products, notifier)
    return written is not None


def write_order(
    uow: UnitOfWork,
    order: Order,
    body_hash: str,
    actor: Principal,
    request_id: str | None,
    known_products: set[str] | None = None,
    notifier: Notifier | None = None,
) -> Order | None:
    """Check references and write a new order with its items queued for routing.
    `known_products` are those of its products known to exist (else they are read);
    `notifier`, when given, tells subscribers of items handed to customer care.

    A shipped order sent without coordinates is placed from its postal code; one that cannot
    be placed is written all the same, its items handed to customer care with the reason.

    Answers the order as written, or None when its id is taken (by an earlier call or a
    concurrent one). The order given is left as it was, so a retried transaction starts clean.
    """
    order = copy.deepcopy(order)
    problems = ErrorCollector()
    if known_products is None:
        known_products = uow.products.existing_ids([i.product_id for i in order.items])
    for index, item in enumerate(order.items):
        if item.product_id not in known_products:
            problems.add(f"items.{index}.product_id", f"No product {item.product_id}.")
    if order.pickup_facility_id and uow.facilities.get(order.pickup_facility_id) is None:
        problems.add("pickup_facility_id", f"No facility {order.pickup_facility_id}.")
    problems.raise_if_any(f"Order {order.id} refers to what does not exist.")
    by = By(actor.id, request_id)
    found = None
    if order.needs_location and not order.ship_to.located:
        found = geocoding.locate(order.ship_to.country, order.ship_to.postal_code)
        if isinstance(found, geocoding.Located):
            order.located_at(found.latitude, found.longitude)
    note = found.how if isinstance(found, geocoding.Located) else None
    history = [item.created(order.id, by, note) for item in order.items]
    cared = order.unlocated(found.why, by) if isinstance(found, geocoding.Unlocated) else []
    history.extend(cared)
    if not uow.orders.insert(order, body_hash, uow.now):
        return None
    uow.orders.record(history, uow.now)
    if notifier is not None and cared:
        by_id = {i.item_id: i for i in order.items}
        notifier.held(order, [(by_id[r.item_id], r.note) for r in cared if r.item_id])
    return order


def _repeat(ctx: Context, order_id: str, body_hash: str, known: str) -> Order:
    if known != body_hash:
        raise Conflict(
            f"Order {order_id} already exists with different content; "
            "send the same body to repeat a creation, or use a new order id."
        )
    with unit_of_work(ctx.db, write=False) as uow:
        order = uow.orders.get(order_id)
    assert order is not None
    return order


def get_order(ctx: Context, order_id: str, actor: Principal) -> OrderView:
    """The order as the caller may see it (see `seen_by`); outside one's facilities, 404."""
    with unit_of_work(ctx.db, write=False) as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound(absent("order", order_id))
        shipments = uow.orders.shipments_of(order_id)
        actor.require_in_scope([s.facility_id for s in shipments], "order", order_id, "read order")
        return seen_by(OrderView(order, shipments, uow.orders.history(order_id)), actor)


def seen_by(view: OrderView, actor: Principal) -> OrderView:
    """What a caller sees of an order, decided here for the API and the pages alike.

    Admins and integrations see all of it. An associate sees the order's own fields (the
    customer and where it goes), its shipments at their facilities, the items held there, and
    the history rows about those facilities or shipments: in a split order, nothing of the
    other store's shipment, its items or its rejection comments. A shipment stays at its
    facility when its items leave (rejected, canceled, sent to customer care), so a store keeps
    seeing what it did, not where the items went afterwards.
    """
    if not actor.is_associate:
        return view
    mine = {s.id for s in view.shipments if actor.can_see_facility(s.facility_id)}
    history = [
        row
        for row in view.history
        if actor.can_see_facility(row["facility_id"]) or row["shipment_id"] in mine
    ]
    return OrderView(
        order_seen_by(view.order, actor),
        [s for s in view.shipments if s.id in mine],
        history,
    )


def order_seen_by(order: Order, actor: Principal) -> Order:
    """The order with only the items the caller may see (an associate: those held at theirs)."""
    if not actor.is_associate:
        return order
    return replace(order, items=[i for i in order.items if actor.can_see_facility(i.facility_id)])

"""What a store does with a shipment it keeps: start picking, pack, fulfil (ship or hand over)."""

from __future__ import annotations

from reroute.domain.access import STORE_ROLES, Principal
from reroute.domain.errors import FieldError, Invalid
from reroute.domain.inventory import LedgerEntry
from reroute.domain.notifications import EventType, Tracking
from reroute.domain.orders import By, HistoryEvent, ShippingMethod
from reroute.services.context import Context
from reroute.services.notify import Line, Notifier
from reroute.services.shipments import find_shipment
from reroute.storage.unit_of_work import UnitOfWork, transact

#: The steps a store takes with a shipment, named as the API and the pages name them.
STEPS = frozenset({HistoryEvent.START, HistoryEvent.PACK, HistoryEvent.FULFILL})


def advance(
    ctx: Context,
    shipment_id: str,
    action: str,
    actor: Principal,
    request_id: str | None = None,
    tracking: Tracking | None = None,
) -> str:
    """Move a shipment one step on; answers the order id. Fulfilling lowers QOH by what leaves,
    keeps the tracking given and tells subscribers (`fulfilled_shipment`); a pickup has none.

    A store action: the facility's associates and admins only, checked before anything is
    locked or written."""
    use_case = f"{action} shipment"
    actor.require_role(*STORE_ROLES, action=use_case, target=f"shipment {shipment_id}")
    if action not in STEPS:
        raise ValueError(f"no shipment step {action!r}")
    step = HistoryEvent(action)
    fulfil = step is HistoryEvent.FULFILL
    by = By(actor.id, request_id)

    def work(uow: UnitOfWork) -> str:
        if fulfil and uow.postgres:
            # As a rejection does: the facility's levels before the shipment and order rows,
            # else a rejection holding a level and waiting for this shipment closes a cycle.
            found = find_shipment(uow, shipment_id, actor, use_case)
            lines = uow.orders.items_of_shipments([found.id])[found.id]
            uow.inventory.get_many({(found.facility_id, i.product_id) for _, i in lines}, lock=True)
        shipment = find_shipment(uow, shipment_id, actor, use_case, lock=True)
        shipment.step(step)
        order = uow.orders.get(shipment.order_id, lock=True)
        assert order is not None
        if fulfil and tracking is not None and tracking != Tracking():
            if order.shipping_method is ShippingMethod.PICKUP:
                given = [f for f, v in vars(tracking).items() if v is not None]
                raise Invalid(
                    f"Shipment {shipment.id} is a pickup: it takes no carrier or tracking.",
                    [FieldError(f, "not allowed for a pickup shipment") for f in given],
                )
            shipment.carrier = tracking.carrier
            shipment.tracking_number = tracking.tracking_number
            shipment.tracking_url = tracking.tracking_url
        items = [i for i in order.items if i.shipment_id == shipment.id and i.ready_for(step)]
        if fulfil:
            keys = [(shipment.facility_id, i.product_id) for i in items]
            levels = uow.inventory.get_many(keys, lock=True)
            entries_by_level: dict[tuple[str, str], list[LedgerEntry]] = {}
            for item in items:
                level = levels[(shipment.facility_id, item.product_id)]
                entry = level.ship(item.quantity, f"{order.id}/{item.item_id}")
                entries_by_level.setdefault((level.facility_id, level.product_id), []).append(entry)
            uow.inventory.save_many(
                [levels[k] for k in sorted(entries_by_level)],
                [e for k in sorted(entries_by_level) for e in entries_by_level[k]],
                uow.now,
            )
        history = [item.step(order.id, step, by) for item in items]
        uow.orders.save_items(order.id, items, uow.now)
        if fulfil:
            uow.orders.fulfil_shipment(shipment, uow.now)
            notifier = Notifier(ctx, uow)
            notifier.add(
                EventType.FULFILLED_SHIPMENT,
                order,
                shipment.facility_id,
                [Line(item, shipment.id) for item in items],
                availability={p: lv.quantity_on_hand for (_, p), lv in levels.items()},
                tracking=Tracking(
                    shipment.carrier, shipment.tracking_number, shipment.tracking_url
                ),
            )
            notifier.flush()
        else:
            uow.orders.set_shipment_state(shipment.id, shipment.state, uow.now)
        uow.orders.record(history, uow.now)
        return order.id

    return transact(ctx.db, work)

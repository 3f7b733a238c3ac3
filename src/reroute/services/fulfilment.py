"""What a store does with a shipment it keeps: start picking, pack, fulfil (ship or hand over)."""

from __future__ import annotations

from reroute.domain.access import STORE_ROLES, Principal
from reroute.domain.errors import Conflict
from reroute.domain.inventory import LedgerEntry
from reroute.domain.orders import HistoryEntry, ItemState, ShipmentState
from reroute.services.context import Context
from reroute.services.shipments import find_shipment
from reroute.storage.unit_of_work import UnitOfWork, transact

#: Each action: the shipment state it starts from, the item states it moves, where they go.
STEPS = {
    "start": (
        ShipmentState.READY,
        ItemState.READY,
        ItemState.IN_PROGRESS,
        ShipmentState.IN_PROGRESS,
    ),
    "pack": (
        ShipmentState.IN_PROGRESS,
        ItemState.IN_PROGRESS,
        ItemState.PACKED,
        ShipmentState.PACKED,
    ),
    "fulfill": (
        ShipmentState.PACKED,
        ItemState.PACKED,
        ItemState.FULFILLED,
        ShipmentState.FULFILLED,
    ),
}


def advance(
    ctx: Context, shipment_id: str, action: str, actor: Principal, request_id: str | None = None
) -> str:
    """Move a shipment one step on; answers the order id. Fulfilling lowers QOH by what leaves.

    A store action: the facility's associates and admins only, checked before anything is
    locked or written."""
    use_case = f"{action} shipment"
    actor.require_role(*STORE_ROLES, action=use_case, target=f"shipment {shipment_id}")
    before, moving, after, shipment_after = STEPS[action]

    def work(uow: UnitOfWork) -> str:
        if after is ItemState.FULFILLED and uow.postgres:
            # As a rejection does: the facility's levels before the shipment and order rows,
            # else a rejection holding a level and waiting for this shipment closes a cycle.
            found = find_shipment(uow, shipment_id, actor, use_case)
            lines = uow.orders.items_of_shipments([found.id])[found.id]
            uow.inventory.get_many({(found.facility_id, i.product_id) for _, i in lines}, lock=True)
        shipment = find_shipment(uow, shipment_id, actor, use_case, lock=True)
        if shipment.state is not before:
            raise Conflict(
                f"Shipment {shipment_id} is {shipment.state}; '{action}' needs it {before}."
            )
        order = uow.orders.get(shipment.order_id, lock=True)
        assert order is not None
        items = [i for i in order.items if i.shipment_id == shipment.id and i.state is moving]
        history = []
        entries_by_level: dict[tuple[str, str], list[LedgerEntry]] = {}
        if after is ItemState.FULFILLED:
            keys = [(shipment.facility_id, i.product_id) for i in items]
            levels = uow.inventory.get_many(keys, lock=True)
            for item in items:
                level = levels[(shipment.facility_id, item.product_id)]
                entry = level.ship(item.quantity, f"{order.id}/{item.item_id}")
                entries_by_level.setdefault((level.facility_id, level.product_id), []).append(entry)
            uow.inventory.save_many(
                [levels[k] for k in sorted(entries_by_level)],
                [e for k in sorted(entries_by_level) for e in entries_by_level[k]],
                uow.now,
            )
        for item in items:
            history.append(
                HistoryEntry(
                    order.id,
                    action,
                    item_id=item.item_id,
                    shipment_id=shipment.id,
                    from_state=str(item.state),
                    to_state=str(after),
                    facility_id=shipment.facility_id,
                    actor=actor.id,
                    request_id=request_id,
                )
            )
            item.state = after
        uow.orders.save_items(order.id, items, uow.now)
        uow.orders.set_shipment_state(shipment.id, shipment_after, uow.now)
        uow.orders.record(history, uow.now)
        return order.id

    return transact(ctx.db, work)

"""The idle sweep over 100,000 ready items of which 10,000 are idle, on SQLite.

A generated retailer (bench/routing_data.py: facilities over the US, products with a long tail,
stock, orders queued) is routed once by a batch run, so every item is ready at a facility; then
the reservations of 10,000 of them are moved two hours back and `idle_reject_after_minutes` is
set to 60. The sweep is timed as the worker runs it: find what is idle, reject each with
IDLE_TIMEOUT (Store Decline and all), route it on. Target: at most 10 s, every idle item taken
back, none of the others. Setting up (generating and routing) is not what is measured.

    .venv/bin/python bench/idle_sweep.py [--items 100000] [--idle 10000] [--facilities 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from reroute.domain.access import SYSTEM
from reroute.domain.clock import utcnow
from reroute.domain.settings import RuntimeSettings
from reroute.services import idle, routing_batch, settings
from reroute.services.context import Context
from reroute.storage.database import Database
from reroute.storage.tables import order_items, rejections
from routing_data import Shape, generate

TARGET_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--facilities", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'idle.db'}"
        started = time.perf_counter()
        generate(url, Shape(facilities=args.facilities, items=args.items))
        ctx = Context(db=Database(url), defaults=RuntimeSettings(mfg_id="11111"))
        routed = routing_batch.run_batch(ctx, SYSTEM)
        with ctx.db.transaction(write=True) as conn:
            ready = select(order_items.c.order_id, order_items.c.item_id).where(
                order_items.c.state == "ready"
            )
            picked = conn.execute(ready.order_by(order_items.c.order_id).limit(args.idle)).all()
            long_ago = utcnow() - timedelta(hours=2)
            for start in range(0, len(picked), 500):
                for order_id, item_id in picked[start : start + 500]:
                    conn.execute(
                        update(order_items)
                        .where(order_items.c.order_id == order_id, order_items.c.item_id == item_id)
                        .values(reserved_at=long_ago)
                    )
            total_ready = conn.execute(
                select(func.count()).where(order_items.c.state == "ready")
            ).scalar_one()
        settings.change_settings(ctx, {"idle_reject_after_minutes": 60}, SYSTEM)
        print(
            f"set up in {time.perf_counter() - started:.0f} s: {routed.orders} orders routed, "
            f"{total_ready} items ready, {len(picked)} of them idle"
        )
        began = time.perf_counter()
        done = idle.sweep(ctx)
        seconds = time.perf_counter() - began
        with ctx.db.transaction(write=False) as conn:
            recorded = conn.execute(
                select(func.count()).where(rejections.c.reason_id == "IDLE_TIMEOUT")
            ).scalar_one()
        ctx.db.dispose()
    rate = done.taken_back / seconds if seconds else 0.0
    print(
        f"idle sweep: {seconds:.2f} s for {done.found} idle of {total_ready} ready items; "
        f"{done.taken_back} taken back in {done.shipments} shipments ({rate:.0f} items/s), "
        f"{done.skipped} skipped, {recorded} IDLE_TIMEOUT rejections recorded"
    )
    ok = seconds <= TARGET_SECONDS and done.taken_back == len(picked) == recorded
    print(
        f"target: at most {TARGET_SECONDS:.0f} s, every idle item once: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

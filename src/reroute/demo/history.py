"""A week of the demo retailer's past, replayed through the services in the order it happened,
so that a first look at analytics, an order's history or a store's Completed list is not empty.

Orders arrive over the last seven days; stores' associates reject some items (several reasons,
now and then a whole shipment), the rejected items go elsewhere, and what is kept is picked,
packed and fulfilled some hours later. Each step runs as its own transaction with the clock of
that transaction set to the moment it happened (`happening_at`), so every time it writes (in
the ledger, the history, the rejections and the day counters) is that moment's.
"""

from __future__ import annotations

import heapq
import random
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reroute.demo import metro
from reroute.domain.access import SYSTEM, Principal, Role
from reroute.domain.errors import Conflict, NotFound
from reroute.domain.facilities import Facility, FacilityKind
from reroute.domain.notifications import Tracking
from reroute.domain.orders import REJECTABLE, ShipmentState, ShippingMethod
from reroute.services import fulfilment, orders, rejection, shipments, users
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork, transaction_checks

DAYS = 7
#: The share of the demo's orders placed over the past week; the others arrive in the last
#: hours and are today's work.
PAST_SHARE = 0.75
#: The last hours: what would happen in them is left to the person trying the demo.
TODAY = timedelta(hours=3)
REJECT_CHANCE = 0.2
ASSOCIATES = 6
WHOLE_SHIPMENT_CHANCE = 0.25
REASONS = {"NOT_IN_STOCK": 45, "DAMAGED": 25, "MISMATCH": 15, "WORN_DISPLAY": 15}
COMMENTS = [
    None,
    None,
    "Not on the shelf or in the back room",
    "Box crushed in the stock room",
    "Label says one size, item is another",
    "Only the display one left, marked",
]
CARRIERS = ["UPS", "FedEx", "USPS"]
#: Where the store associates of the history sign in from (they get passwords nobody knows:
#: an admin can reset them on the Users page).
ASSOCIATE_DOMAIN = "stores.example.com"


@contextmanager
def happening_at(moment: datetime) -> Iterator[None]:
    """Every transaction in the block runs with its clock at `moment` (through the hook each
    transaction runs before its work), as if the block happened then."""

    def set_clock(uow: UnitOfWork) -> None:
        uow.now = moment

    token = transaction_checks.set((*transaction_checks.get(), set_clock))
    try:
        yield
    finally:
        transaction_checks.reset(token)


def order_times(count: int, now: datetime, rng: random.Random) -> list[datetime]:
    """When each of `count` orders arrived, oldest first: most over the past week, the rest in
    the last hours."""
    past = round(count * PAST_SHARE)
    start = now - timedelta(days=DAYS) + timedelta(hours=1)
    week = (now - TODAY - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.uniform(0, week)) for _ in range(past))
    recent = sorted(
        now - TODAY + timedelta(seconds=rng.uniform(0, TODAY.total_seconds() - 60))
        for _ in range(count - past)
    )
    return times + recent


def store_associates(context: Context, facilities: list[Facility]) -> dict[str, Principal]:
    """The associates who worked the week, by store id: `ASSOCIATES` people, each of several
    stores (every few stores share one, as a password hash each is slow to make)."""
    stores = [f.id for f in facilities if f.kind is FacilityKind.STORE]
    people: dict[str, Principal] = {}
    for n in range(ASSOCIATES):
        first = metro.FIRST_NAMES[(n * 7) % len(metro.FIRST_NAMES)]
        last = metro.LAST_NAMES[(n * 11) % len(metro.LAST_NAMES)].replace("'", "")
        email = f"{first}.{last}@{ASSOCIATE_DOMAIN}".lower()
        theirs = stores[n::ASSOCIATES]
        known = users.find_user(context, email)
        if known is None:
            password = secrets.token_urlsafe(18)
            known = users.create_user(context, email, password, Role.ASSOCIATE, theirs, SYSTEM)
        people |= dict.fromkeys(theirs, users.principal_of(known))
    return people


@dataclass(order=True)
class _Step:
    at: datetime
    sequence: int
    run: Callable[[datetime], None] = field(compare=False)


class Week:
    """The past week, told step by step in time order: each step may plan later ones."""

    def __init__(
        self, context: Context, rng: random.Random, now: datetime, people: dict[str, Principal]
    ) -> None:
        self.context, self.rng, self.now, self.people = context, rng, now, people
        self._steps: list[_Step] = []
        self._planned: set[str] = set()
        self._count = 0
        self.rejections = 0

    def follow(self, order_id: str, at: datetime) -> None:
        """Plan what the order's new shipments go through from `at` on."""
        view = orders.get_order(self.context, order_id, SYSTEM)
        pickup = view.order.shipping_method is ShippingMethod.PICKUP
        for shipment in view.shipments:
            if shipment.id in self._planned or shipment.state is not ShipmentState.READY:
                continue
            self._planned.add(shipment.id)
            person = self.people.get(shipment.facility_id)
            if person is not None and self.rng.random() < REJECT_CHANCE:
                later = at + timedelta(minutes=self.rng.uniform(20, 8 * 60))
                self._later(later, self._rejecter(shipment.id, person))
            else:
                later = at + timedelta(hours=self.rng.uniform(2, 30))
                self._later(later, self._fulfiller(shipment.id, person or SYSTEM, pickup))

    def until(self, moment: datetime) -> None:
        """Run every planned step due before `moment`, oldest first."""
        while self._steps and self._steps[0].at < moment:
            step = heapq.heappop(self._steps)
            with happening_at(step.at):
                step.run(step.at)

    def _later(self, at: datetime, run: Callable[[datetime], None]) -> None:
        if at >= self.now - TODAY:
            return  # too recent: it is left for today
        self._count += 1
        heapq.heappush(self._steps, _Step(at, self._count, run))

    def _rejecter(self, shipment_id: str, person: Principal) -> Callable[[datetime], None]:
        def reject(at: datetime) -> None:
            view = _shipment(self.context, shipment_id)
            if view is None or not view[2]:
                return  # a cascade took it back before
            _, order_id, item_ids = view
            reason = self.rng.choices(list(REASONS), list(REASONS.values()))[0]
            comment = self.rng.choice(COMMENTS)
            try:
                if len(item_ids) > 1 and self.rng.random() < WHOLE_SHIPMENT_CHANCE:
                    rejection.reject_shipment(
                        self.context, shipment_id, reason, comment, person, "demo"
                    )
                else:
                    item = self.rng.choice(item_ids)
                    rejection.reject_item(
                        self.context, shipment_id, item, reason, comment, person, "demo"
                    )
            except Conflict:
                return  # nowhere to take it from any more: the week goes on without it
            self.rejections += 1
            self.follow(order_id, at)

        return reject

    def _fulfiller(
        self, shipment_id: str, person: Principal, pickup: bool
    ) -> Callable[[datetime], None]:
        def fulfil(at: datetime) -> None:
            view = _shipment(self.context, shipment_id)
            if view is None or view[0] is not ShipmentState.READY or not view[2]:
                return  # taken back by a cascade meanwhile
            tracking = None
            if not pickup:
                carrier = self.rng.choice(CARRIERS)
                number = f"{carrier[:2].upper()}{self.rng.randint(10**9, 10**10 - 1)}"
                tracking = Tracking(carrier, number)
            try:
                for step in ("start", "pack", "fulfill"):
                    given = tracking if step == "fulfill" else None
                    fulfilment.advance(self.context, shipment_id, step, person, "demo", given)
            except Conflict:
                return  # the stock was not there after all: it stays where it got to

        return fulfil


def _shipment(context: Context, shipment_id: str) -> tuple[ShipmentState, str, list[str]] | None:
    """A shipment's state, its order and the ids of the items in it that can be rejected."""
    try:
        view = shipments.get_shipment(context, shipment_id, SYSTEM)
    except NotFound:
        return None
    items = [
        i.item_id for i in view.items if i.shipment_id == shipment_id and i.state in REJECTABLE
    ]
    return view.shipment.state, view.order.id, items

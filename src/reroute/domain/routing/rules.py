"""The routing rules document: routings tried in order, each holding inventory rules.

An admin edits it as JSON; `parse_rules` validates it and answers every bad path at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from reroute.domain.errors import ErrorCollector
from reroute.domain.facilities import Capability, FacilityKind
from reroute.domain.orders import ShippingMethod

E = TypeVar("E", bound=StrEnum)

# Every order reads the document, so its size is bounded (and so is the list of its errors).
MAX_ROUTINGS = 100
MAX_INVENTORY_RULES = 50
#: Entries of a list of choices (kinds, capabilities, shipping methods, sort keys).
MAX_CHOICES = 20
#: Entries of a list of ids (catalog ids, facility ids).
MAX_IDS = 500
MAX_TEXT = 200
#: Errors listed in one refusal; the rest are counted.
MAX_ERRORS = 50


class SortKey(StrEnum):
    DISTANCE = "distance"  # nearest first
    ATP = "atp"  # most available first
    SEQUENCE = "sequence"  # the facility's own rank, lowest first
    ACCEPTANCE = "acceptance"  # the facility least likely to reject these products first
    COST = "cost"  # the lowest expected cost first: shipment, distance, and likely re-routes


class Unplaced(StrEnum):
    NEXT_RULE = "next_rule"
    BACKORDER = "backorder"
    CUSTOMER_CARE = "customer_care"


@dataclass(frozen=True)
class OrderFilter:
    shipping_methods: tuple[ShippingMethod, ...] = ()
    catalog_ids: tuple[str, ...] = ()
    min_priority: int | None = None
    max_priority: int | None = None

    def matches(self, method: ShippingMethod, catalog_id: str, priority: int) -> bool:
        if self.shipping_methods and method not in self.shipping_methods:
            return False
        if self.catalog_ids and catalog_id not in self.catalog_ids:
            return False
        if self.min_priority is not None and priority < self.min_priority:
            return False
        return self.max_priority is None or priority <= self.max_priority


@dataclass(frozen=True)
class FacilityFilter:
    kinds: tuple[FacilityKind, ...] = ()
    capabilities: tuple[Capability, ...] = ()
    max_distance_km: float | None = None
    facility_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class InventoryRule:
    name: str
    facility_filter: FacilityFilter = field(default_factory=FacilityFilter)
    split: bool = False
    max_shipments: int = 1
    sort: tuple[SortKey, ...] = (SortKey.DISTANCE,)
    unplaced: Unplaced = Unplaced.NEXT_RULE


@dataclass(frozen=True)
class Routing:
    name: str
    order_filter: OrderFilter
    inventory_rules: tuple[InventoryRule, ...]


@dataclass(frozen=True)
class RulesDocument:
    routings: tuple[Routing, ...]

    def routing_for(self, method: ShippingMethod, catalog_id: str, priority: int) -> Routing | None:
        return next(
            (r for r in self.routings if r.order_filter.matches(method, catalog_id, priority)),
            None,
        )


def default_rules() -> RulesDocument:
    """SPEC section 5: used while an admin has saved none."""
    return RulesDocument(
        routings=(
            Routing(
                "Pickup at the chosen store",
                OrderFilter(shipping_methods=(ShippingMethod.PICKUP,)),
                (InventoryRule("The pickup facility", unplaced=Unplaced.BACKORDER),),
            ),
            Routing(
                "Same day",
                OrderFilter(shipping_methods=(ShippingMethod.SAME_DAY,)),
                (
                    InventoryRule(
                        "Nearest same-day store within 30 km",
                        FacilityFilter(
                            kinds=(FacilityKind.STORE,),
                            capabilities=(Capability.SAME_DAY,),
                            max_distance_km=30,
                        ),
                        unplaced=Unplaced.CUSTOMER_CARE,
                    ),
                ),
            ),
            Routing(
                "Standard and express",
                OrderFilter(shipping_methods=(ShippingMethod.STANDARD, ShippingMethod.EXPRESS)),
                (
                    InventoryRule("Nearest facility with everything"),
                    InventoryRule(
                        "Split across the nearest facilities",
                        split=True,
                        max_shipments=3,
                        unplaced=Unplaced.BACKORDER,
                    ),
                ),
            ),
        )
    )


# The document as JSON ------------------------------------------------------------------------


def rules_to_json(document: RulesDocument) -> dict[str, Any]:
    return {
        "routings": [
            {
                "name": r.name,
                "order_filter": {
                    "shipping_methods": [str(m) for m in r.order_filter.shipping_methods],
                    "catalog_ids": list(r.order_filter.catalog_ids),
                    "min_priority": r.order_filter.min_priority,
                    "max_priority": r.order_filter.max_priority,
                },
                "inventory_rules": [
                    {
                        "name": i.name,
                        "facility_filter": {
                            "kinds": [str(k) for k in i.facility_filter.kinds],
                            "capabilities": [str(c) for c in i.facility_filter.capabilities],
                            "max_distance_km": i.facility_filter.max_distance_km,
                            "facility_ids": list(i.facility_filter.facility_ids),
                        },
                        "split": i.split,
                        "max_shipments": i.max_shipments,
                        "sort": [str(s) for s in i.sort],
                        "unplaced": str(i.unplaced),
                    }
                    for i in r.inventory_rules
                ],
            }
            for r in document.routings
        ]
    }


class _Reader:
    """Reads one JSON value at a path, recording what is wrong instead of stopping (up to
    MAX_ERRORS errors; the rest are counted)."""

    def __init__(self, problems: ErrorCollector) -> None:
        self.problems = problems
        self.unlisted = 0

    def add(self, path: str, message: str) -> None:
        if len(self.problems.errors) < MAX_ERRORS:
            self.problems.add(path, message)
        else:
            self.unlisted += 1

    def finish(self, detail: str) -> None:
        if self.unlisted:
            self.problems.add("", f"… and {self.unlisted} more errors not listed.")
        self.problems.raise_if_any(detail)

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(path, "Must be an object.")
            return {}
        return value

    def unknown(self, value: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in value:
            if key not in allowed:
                self.add(
                    _join(path, _shown(key, quoted=False)),
                    f"Unknown field; allowed: {', '.join(sorted(allowed))}.",
                )

    def items(self, value: Any, path: str, most: int) -> list[Any]:
        """A list of at most `most` entries; anything else is refused at `path` as a whole."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, "Must be a list.")
            return []
        if len(value) > most:
            self.add(path, f"Must have at most {most} entries; this has {len(value)}.")
            return []
        return value

    def text(self, value: Any, path: str, *, default: str | None = None) -> str:
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            self.add(path, f"Must be a non-empty text of at most {MAX_TEXT} characters.")
            return default or ""
        if "\x00" in value:
            self.add(path, "Must not contain the NUL character (\\u0000).")
            return default or ""
        return value.strip()

    def boolean(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(path, "Must be true or false.")
            return default
        return value

    def integer(self, value: Any, path: str, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(path, f"Must be a whole number from {low} to {high}.")
            return None
        return value

    def number(self, value: Any, path: str, low: float, high: float) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
            self.add(path, f"Must be a number above {low} and at most {high}.")
            return None
        return float(value)

    def choice(self, value: Any, path: str, kind: type[E]) -> E | None:
        if isinstance(value, str):
            try:
                return kind(value)
            except ValueError:
                pass
        allowed = ", ".join(str(m) for m in kind)
        self.add(path, f"Unknown value {_shown(value)}; allowed: {allowed}.")
        return None

    def choices(self, value: Any, path: str, kind: type[E]) -> tuple[E, ...]:
        found = [
            self.choice(v, f"{path}.{i}", kind)
            for i, v in enumerate(self.items(value, path, MAX_CHOICES))
        ]
        return tuple(dict.fromkeys(f for f in found if f is not None))

    def texts(self, value: Any, path: str) -> tuple[str, ...]:
        entries = self.items(value, path, MAX_IDS)
        return tuple(self.text(v, f"{path}.{i}") for i, v in enumerate(entries))


def _join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def _shown(value: Any, *, quoted: bool = True) -> str:
    """A value as an error message may quote it: short, and never a whole nested structure."""
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    text = repr(value) if quoted else str(value)
    text = text.replace("\x00", "\\u0000")
    return text if len(text) <= 40 else text[:39] + "…"


def parse_rules(document: Any, known_facilities: set[str] | None = None) -> RulesDocument:
    """Validate a rules document; raises `Invalid` listing every bad path."""
    read = _Reader(ErrorCollector())
    top = read.obj(document, "")
    read.unknown(top, {"routings"}, "")
    raw_routings = top.get("routings")
    if not isinstance(raw_routings, list) or not raw_routings:
        read.add("routings", "Must be a non-empty list of routings.")
        raw_routings = []
    elif len(raw_routings) > MAX_ROUTINGS:
        read.add(
            "routings", f"Must have at most {MAX_ROUTINGS} routings; this has {len(raw_routings)}."
        )
        raw_routings = []
    routings = []
    for r_index, raw in enumerate(raw_routings):
        path = f"routings.{r_index}"
        r = read.obj(raw, path)
        read.unknown(r, {"name", "order_filter", "inventory_rules"}, path)
        f = read.obj(r.get("order_filter") or {}, f"{path}.order_filter")
        read.unknown(
            f,
            {"shipping_methods", "catalog_ids", "min_priority", "max_priority"},
            f"{path}.order_filter",
        )
        order_filter = OrderFilter(
            shipping_methods=read.choices(
                f.get("shipping_methods"), f"{path}.order_filter.shipping_methods", ShippingMethod
            ),
            catalog_ids=read.texts(f.get("catalog_ids"), f"{path}.order_filter.catalog_ids"),
            min_priority=read.integer(
                f.get("min_priority"), f"{path}.order_filter.min_priority", 0, 100
            ),
            max_priority=read.integer(
                f.get("max_priority"), f"{path}.order_filter.max_priority", 0, 100
            ),
        )
        if (
            order_filter.min_priority is not None
            and order_filter.max_priority is not None
            and order_filter.min_priority > order_filter.max_priority
        ):
            read.add(f"{path}.order_filter.max_priority", "Must not be below min_priority.")
        raw_rules = r.get("inventory_rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            read.add(f"{path}.inventory_rules", "Must be a non-empty list of inventory rules.")
            raw_rules = []
        elif len(raw_rules) > MAX_INVENTORY_RULES:
            read.add(
                f"{path}.inventory_rules",
                f"Must have at most {MAX_INVENTORY_RULES} inventory rules; "
                f"this has {len(raw_rules)}.",
            )
            raw_rules = []
        rules = [
            _parse_inventory_rule(read, raw_rule, f"{path}.inventory_rules.{i}", known_facilities)
            for i, raw_rule in enumerate(raw_rules)
        ]
        routings.append(
            Routing(
                read.text(r.get("name"), f"{path}.name", default=f"Routing {r_index + 1}"),
                order_filter,
                tuple(rules),
            )
        )
    read.finish("The routing rules document has errors.")
    return RulesDocument(tuple(routings))


def _parse_inventory_rule(
    read: _Reader, raw: Any, path: str, known_facilities: set[str] | None
) -> InventoryRule:
    rule = read.obj(raw, path)
    read.unknown(
        rule, {"name", "facility_filter", "split", "max_shipments", "sort", "unplaced"}, path
    )
    ff = read.obj(rule.get("facility_filter") or {}, f"{path}.facility_filter")
    read.unknown(
        ff, {"kinds", "capabilities", "max_distance_km", "facility_ids"}, f"{path}.facility_filter"
    )
    facility_ids = read.texts(ff.get("facility_ids"), f"{path}.facility_filter.facility_ids")
    if known_facilities is not None:
        for index, facility_id in enumerate(facility_ids):
            if facility_id not in known_facilities:
                read.add(
                    f"{path}.facility_filter.facility_ids.{index}",
                    f"No facility {_shown(facility_id, quoted=False)}.",
                )
    split = read.boolean(rule.get("split"), f"{path}.split", False)
    max_shipments = read.integer(rule.get("max_shipments"), f"{path}.max_shipments", 1, 20)
    if max_shipments is None:
        max_shipments = 3 if split else 1
    if not split and max_shipments > 1:
        read.add(f"{path}.max_shipments", "More than one shipment needs split: true.")
    sort = read.choices(rule.get("sort"), f"{path}.sort", SortKey) or (SortKey.DISTANCE,)
    unplaced = read.choice(rule.get("unplaced", "next_rule"), f"{path}.unplaced", Unplaced)
    return InventoryRule(
        name=read.text(rule.get("name"), f"{path}.name", default="Inventory rule"),
        facility_filter=FacilityFilter(
            kinds=read.choices(ff.get("kinds"), f"{path}.facility_filter.kinds", FacilityKind),
            capabilities=read.choices(
                ff.get("capabilities"), f"{path}.facility_filter.capabilities", Capability
            ),
            max_distance_km=read.number(
                ff.get("max_distance_km"), f"{path}.facility_filter.max_distance_km", 0, 20_000
            ),
            facility_ids=facility_ids,
        ),
        split=split,
        max_shipments=max_shipments,
        sort=sort,
        unplaced=unplaced or Unplaced.NEXT_RULE,
    )

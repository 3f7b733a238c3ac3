"""Where a ship-to lies when the platform sent no coordinates: the centroid of its US ZIP code,
from the data the `zipcodes` package ships (nothing is fetched at run time).

A ZIP centroid is close enough to choose the nearest store; an address it cannot place is
answered with the reason, so that a person can place it instead.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import zipcodes

#: Countries whose addresses use US ZIP codes, with the "state" the ZIP data gives them. The
#: US itself takes any ZIP; a territory sent as its own country takes only its own.
ZIP_COUNTRIES = frozenset({"US", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW"})
_ZIP = re.compile(r"(\d{5})(?:[- ]?\d{4})?")

_lock = threading.Lock()
_centroids: dict[str, tuple[str, float, float]] | None = None


@dataclass(frozen=True)
class Located:
    latitude: float
    longitude: float
    #: How the point was found, for the order's history.
    how: str


@dataclass(frozen=True)
class Unlocated:
    #: Why no point could be found, for the order's history.
    why: str


def locate(country: str, postal_code: str) -> Located | Unlocated:
    """The ship-to's point from its country and postal code, or why there is none."""
    country = country.strip().upper()
    code = postal_code.strip()
    if not code:
        return Unlocated("it has no coordinates and no postal code")
    if country not in ZIP_COUNTRIES:
        where = f"in {country}" if country else "without a country"
        return Unlocated(
            f"it has no coordinates, and addresses {where} are located from US ZIP codes only"
        )
    match = _ZIP.fullmatch(code)
    if match is None:
        return Unlocated(f"it has no coordinates, and {code!r} is not a US ZIP code")
    zip5 = match.group(1)
    found = _table().get(zip5)
    if found is None or (country != "US" and found[0] != country):
        return Unlocated(f"it has no coordinates, and ZIP code {zip5} is not known in {country}")
    state, latitude, longitude = found
    if latitude == 0 and longitude == 0:  # military post offices (APO, FPO) have no place
        return Unlocated(f"it has no coordinates, and ZIP code {zip5} ({state}) has no location")
    return Located(latitude, longitude, f"Ship-to located at the centre of ZIP code {zip5}.")


def _table() -> dict[str, tuple[str, float, float]]:
    """ZIP code to (state, latitude, longitude), built once on first use (about a second)."""
    global _centroids
    if _centroids is None:
        with _lock:
            if _centroids is None:
                _centroids = {
                    z["zip_code"]: (z["state"], float(z["lat"]), float(z["long"]))
                    for z in zipcodes.list_all()  # type: ignore[no-untyped-call]
                }
    return _centroids

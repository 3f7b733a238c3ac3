"""Great-circle distances, made cheap for comparing many facilities against one address.

Every point is turned once into a unit vector; the cosine of the angle between two points is then
a dot product, and the distance in km is needed only where a radius is checked or reported.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088

Vector = tuple[float, float, float]


def unit_vector(latitude: float, longitude: float) -> Vector:
    lat, lon = math.radians(latitude), math.radians(longitude)
    cos_lat = math.cos(lat)
    return (cos_lat * math.cos(lon), cos_lat * math.sin(lon), math.sin(lat))


def cosine(a: Vector, b: Vector) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def km_from_cosine(value: float) -> float:
    return EARTH_RADIUS_KM * math.acos(max(-1.0, min(1.0, value)))


def cosine_within(km: float) -> float:
    """The smallest cosine of two points at most `km` apart."""
    return math.cos(min(km / EARTH_RADIUS_KM, math.pi))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def ring_floor_km(latitude: float, ring: int) -> float:
    """No point in grid ring `ring` (cells of whole degrees) or beyond lies nearer than this to
    a point at `latitude`: at least ring - 1 whole degrees apart in latitude or in longitude."""
    if ring <= 1:
        return 0.0
    widest = min(89.9, abs(latitude) + ring + 1)
    degree_km = math.pi * EARTH_RADIUS_KM / 180 * math.cos(math.radians(widest))
    return (ring - 1) * degree_km

"""Locating a ship-to offline from its US ZIP code, and saying why when it cannot be."""

from __future__ import annotations

import pytest

from reroute.geocoding import Located, Unlocated, locate


def test_a_us_zip_is_placed_at_its_centre() -> None:
    found = locate("US", "60601")
    assert found == Located(41.8858, -87.6181, "Ship-to located at the centre of ZIP code 60601.")


@pytest.mark.parametrize("code", ["60601-1234", "606011234", " 60601 ", "60601 1234"])
def test_zip_plus_four_and_spacing_are_read_as_the_five_digit_zip(code: str) -> None:
    found = locate("us", code)
    assert isinstance(found, Located) and (found.latitude, found.longitude) == (41.8858, -87.6181)


def test_a_territory_is_placed_by_its_own_zip_codes_only() -> None:
    assert isinstance(locate("PR", "00601"), Located)
    assert isinstance(locate("US", "00601"), Located)  # Puerto Rico sent as the US
    assert isinstance(locate("GU", "60601"), Unlocated)


@pytest.mark.parametrize(
    ("country", "code", "why"),
    [
        ("US", "", "it has no coordinates and no postal code"),
        ("US", "99999", "it has no coordinates, and ZIP code 99999 is not known in US"),
        ("US", "6060", "it has no coordinates, and '6060' is not a US ZIP code"),
        ("US", "SW1A 1AA", "it has no coordinates, and 'SW1A 1AA' is not a US ZIP code"),
        (
            "GB",
            "SW1A 1AA",
            "it has no coordinates, and addresses in GB are located from US ZIP codes only",
        ),
        (
            "",
            "60601",
            "it has no coordinates, and addresses without a country are located from US ZIP "
            "codes only",
        ),
        ("US", "09001", "it has no coordinates, and ZIP code 09001 (AE) has no location"),
    ],
)
def test_an_address_that_cannot_be_placed_says_why(country: str, code: str, why: str) -> None:
    assert locate(country, code) == Unlocated(why)

"""The notification body of SPEC 6.2, built without a database: key order, JSON types,
`eventTime`, the top-level reason, `orderItemID`, and `scope`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from reroute.domain.notifications import (
    DEFAULT_DECLINE,
    EventType,
    Location,
    PayloadLine,
    build,
    event_time,
)

#: SPEC 6.2's example, in its key order.
EXAMPLE = """{ "eventTypeID": "StoreDeclineEvent", "orderID": "808080",
  "externalLocationID": "4400440", "locationName": "Test Distribution",
  "eventTime": "2015-01-10 01:01:00", "reasonCode": null, "reasonDescription": null,
  "orderItemID": null,
  "data": [ { "itemID": "12121212", "shipmentID": "919191", "partNumber": "88887777",
              "upc": "88887777", "quantity": "1", "locationAvailability": 3,
              "reasonCode": "102", "reasonDescription": "On a mannequin or display" } ],
  "scope": { "mfgID": "11111", "catalogID": "0", "fulfillerID": "70125" } }"""
TEST_DISTRIBUTION = Location("4400440", "Test Distribution", "70125")
MOMENT = datetime(2015, 1, 10, 1, 1, 0, 654321, tzinfo=UTC)


def example_line(**overrides: object) -> PayloadLine:
    values: dict[str, object] = {
        "item_id": "12121212",
        "shipment_id": "919191",
        "part_number": "88887777",
        "upc": "88887777",
        "quantity": 1,
        "location_availability": 3,
        "reason_code": "102",
        "reason_description": "On a mannequin or display",
    }
    values.update(overrides)
    return PayloadLine(**values)  # type: ignore[arg-type]


def body_of(event_type: EventType = EventType.STORE_DECLINE, **kw: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "order_id": "808080",
        "location": TEST_DISTRIBUTION,
        "moment": MOMENT,
        "lines": [example_line()],
        "mfg_id": "11111",
        "catalog_id": "0",
    }
    arguments.update(kw)
    event = build(event_type, **arguments)  # type: ignore[arg-type]
    parsed: dict[str, object] = json.loads(event.body)
    return parsed


def test_the_spec_example_is_built_exactly_key_order_included() -> None:
    event = build(
        EventType.STORE_DECLINE,
        order_id="808080",
        location=TEST_DISTRIBUTION,
        moment=MOMENT,
        lines=[example_line()],
        mfg_id="11111",
        catalog_id="0",
    )
    expected = json.loads(EXAMPLE)
    assert json.loads(event.body) == expected
    # Same keys in the same order at every level: the serialised texts agree.
    assert event.body == json.dumps(expected, ensure_ascii=False)
    assert (event.type, event.order_id) == (EventType.STORE_DECLINE, "808080")


def test_identifiers_quantities_and_codes_are_strings_availability_an_integer() -> None:
    body = body_of(lines=[example_line(quantity=12, location_availability=0)])
    [line] = body["data"]  # type: ignore[misc]
    assert line["quantity"] == "12"
    assert line["locationAvailability"] == 0
    assert type(line["locationAvailability"]) is int
    for key in ("itemID", "shipmentID", "partNumber", "upc", "quantity", "reasonCode"):
        assert isinstance(line[key], str), key


def test_event_time_is_utc_whole_seconds_whatever_zone_the_moment_is_in() -> None:
    chicago_winter = timezone(timedelta(hours=-6))
    moment = datetime(2015, 1, 9, 19, 1, 0, 999999, tzinfo=chicago_winter)
    assert event_time(moment) == "2015-01-10 01:01:00"
    assert body_of(moment=moment)["eventTime"] == "2015-01-10 01:01:00"
    assert event_time(datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)) == "2024-12-31 23:59:59"


def test_the_top_level_reason_is_null_when_lines_carry_theirs_else_the_whole_actions() -> None:
    by_lines = body_of()
    assert (by_lines["reasonCode"], by_lines["reasonDescription"]) == (None, None)
    whole = body_of(reason=("104", "Damaged"))
    assert (whole["reasonCode"], whole["reasonDescription"]) == ("104", "Damaged")
    assert DEFAULT_DECLINE == ("101", "Don't have enough quantity.")
    default = body_of(reason=DEFAULT_DECLINE)
    assert (default["reasonCode"], default["reasonDescription"]) == DEFAULT_DECLINE


@pytest.mark.parametrize("event_type", list(EventType))
def test_order_item_id_is_null_except_in_cancel_item(event_type: EventType) -> None:
    body = body_of(event_type, order_item_id="12121212")
    assert body["eventTypeID"] == str(event_type)
    expected = "12121212" if event_type is EventType.CANCEL_ITEM else None
    assert body["orderItemID"] == expected
    # Every type has the same shape; a fulfilled shipment adds its tracking at the end.
    tracking = ["carrier", "trackingNumber", "trackingURL"]
    extra = tracking if event_type is EventType.FULFILLED_SHIPMENT else []
    assert list(body) == list(json.loads(EXAMPLE)) + extra


def test_event_type_ids_are_the_documented_words() -> None:
    assert [str(t) for t in EventType] == [
        "StoreDeclineEvent",
        "cancel_shipment",
        "cancel_item",
        "ready_shipment",
        "fulfilled_shipment",
        "backorder_item",
        "customer_care_item",
    ]


def test_scope_has_the_tenant_the_orders_catalog_defaulting_to_0_and_the_fulfiller() -> None:
    assert body_of(mfg_id="42", catalog_id="web")["scope"] == {
        "mfgID": "42",
        "catalogID": "web",
        "fulfillerID": "70125",
    }
    assert body_of(catalog_id="")["scope"] == {
        "mfgID": "11111",
        "catalogID": "0",
        "fulfillerID": "70125",
    }


def test_lines_keep_their_order_and_their_own_reasons() -> None:
    lines = [
        example_line(item_id="2", reason_code=None, reason_description=None),
        example_line(item_id="1"),
    ]
    body = body_of(EventType.READY_SHIPMENT, lines=lines)
    assert [d["itemID"] for d in body["data"]] == ["2", "1"]  # type: ignore[attr-defined]
    assert [d["reasonCode"] for d in body["data"]] == [None, "102"]  # type: ignore[attr-defined]


def test_without_a_location_the_location_fields_are_null_and_the_shape_stays() -> None:
    body = body_of(EventType.CANCEL_SHIPMENT, location=None)
    assert (body["externalLocationID"], body["locationName"]) == (None, None)
    assert body["scope"] == {"mfgID": "11111", "catalogID": "0", "fulfillerID": None}
    assert list(body) == list(json.loads(EXAMPLE))


def test_non_ascii_text_is_kept_as_is_in_the_body() -> None:
    event = build(
        EventType.STORE_DECLINE,
        order_id="808080",
        location=Location("4400440", "Tienda Müller, Köln", "70125"),
        moment=MOMENT,
        lines=[example_line()],
        mfg_id="11111",
        catalog_id="0",
    )
    assert "Tienda Müller, Köln" in event.body
    assert json.loads(event.body)["locationName"] == "Tienda Müller, Köln"

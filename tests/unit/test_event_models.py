"""Each event model accepts what the code really writes for its type, and its own example."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from reroute.api.schemas.events import EVENT_MODELS
from reroute.domain.notifications import EventType, Location, PayloadLine, Tracking, build

LINE = PayloadLine("1", "7", "PN-1", "012345678905", 2, 4, None, None)
AT = datetime(2026, 12, 2, 20, 15, tzinfo=UTC)


def emitted(event_type: EventType) -> dict[str, object]:
    event = build(
        event_type,
        order_id="1001",
        location=Location("STORE-1", "Elm", "F-1"),
        moment=AT,
        lines=[LINE],
        mfg_id="11111",
        catalog_id="0",
        reason=("101", "Don't have enough quantity."),
        order_item_id="1",
        tracking=Tracking("UPS", "1Z9", "https://ups.example/1Z9"),
    )
    return json.loads(event.body)  # type: ignore[no-any-return]


def test_every_event_type_has_a_model() -> None:
    assert {str(t) for t in EventType} <= set(EVENT_MODELS)


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_model_validates_what_is_emitted(event_type: EventType) -> None:
    model = EVENT_MODELS[str(event_type)]
    parsed = model.model_validate(emitted(event_type))
    assert parsed.model_dump(by_alias=True)["eventTypeID"] == str(event_type)


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
def test_example_validates_and_names_its_type(name: str) -> None:
    model = EVENT_MODELS[name]
    examples = model.model_json_schema()["examples"]
    assert examples and all(model.model_validate(e) for e in examples)
    assert examples[0]["eventTypeID"] == name


def test_a_model_refuses_another_type() -> None:
    with pytest.raises(ValidationError):
        EVENT_MODELS["ready_shipment"].model_validate(emitted(EventType.STORE_DECLINE))


def test_tracking_only_on_fulfilled_shipment() -> None:
    body = emitted(EventType.FULFILLED_SHIPMENT)
    assert list(body)[-3:] == ["carrier", "trackingNumber", "trackingURL"]
    assert body["trackingURL"] == "https://ups.example/1Z9"
    assert "carrier" not in emitted(EventType.STORE_DECLINE)

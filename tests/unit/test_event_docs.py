"""docs/notifications.md shows one example of every event type, each equal to the example of its
model in the OpenAPI document and valid against that model: the docs cannot drift from what
the server sends."""

from __future__ import annotations

import json
import re
from pathlib import Path

from reroute.api.schemas.events import EVENT_MODELS
from reroute.domain.notifications import EventType

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
SECTION = re.compile(r"^### `([^`]+)`\n(.*?)```json\n(.*?)```", re.S | re.M)


def documented() -> dict[str, object]:
    return {kind: json.loads(body) for kind, _, body in SECTION.findall(DOC.read_text())}


def test_every_event_type_has_a_documented_example() -> None:
    assert sorted(documented()) == sorted(str(t) for t in EventType)


def test_each_documented_example_is_its_model_s_and_validates() -> None:
    for kind, example in documented().items():
        model = EVENT_MODELS[kind]
        model.model_validate(example)
        extra = model.model_config.get("json_schema_extra")
        assert isinstance(extra, dict)
        assert extra["examples"][0] == example, kind
        assert list(example) == list(extra["examples"][0]), kind  # key order too

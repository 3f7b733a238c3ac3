"""Entity tags on both databases: `ETag` and `If-None-Match` (304, no body) on reading an order
and the rules document; `If-Match` on saving the rules and a reason, refused with 412 and
nothing written when another admin saved first, also when two save at the same moment."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.domain.access import Role
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.services.context import Context
from reroute.storage import tables
from reroute.storage.repositories.rejections import RejectionRepository
from reroute.storage.repositories.routing import RoutingRepository
from tests.conftest import make_token
from tests.integration.test_routing_api import VALID
from tests.support import Headers, all_at_once, create, put_product, stocked

RULES = "/api/v1/routing/rules"
REASONS = "/api/v1/rejection-reasons"


def assert_strong(tag: str) -> None:
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 10, tag


def assert_refused_412(answer: Any) -> None:
    assert answer.status_code == 412, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 412
    assert "If-Match" in answer.json()["detail"]


def named(document: dict[str, Any], name: str) -> dict[str, Any]:
    renamed = {**document, "routings": [dict(r) for r in document["routings"]]}
    renamed["routings"][0]["name"] = name
    return renamed


# Reading an order --------------------------------------------------------------------------


def test_an_order_read_again_with_its_etag_is_304_until_it_changes(
    client: TestClient, admin: Headers, context: Context
) -> None:
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 5})
    order = create(client, admin, [(product, 1)])
    path = f"/api/v1/orders/{order['order_id']}"
    first = client.get(path, headers=admin)
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert_strong(tag)
    assert client.get(path, headers=admin).headers["ETag"] == tag  # the same order, the same tag

    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        unchanged = client.get(path, headers={**admin, "If-None-Match": sent})
        assert unchanged.status_code == 304, sent
        assert unchanged.content == b"" and unchanged.headers["ETag"] == tag
    for sent in ('"other"', "", "not a tag", "x" * 10_000):
        read = client.get(path, headers={**admin, "If-None-Match": sent})
        assert read.status_code == 200 and read.json() == first.json()

    shipment_id = order["items"][0]["shipment_id"]
    started = client.post(f"/api/v1/shipments/{shipment_id}/start", headers=admin)
    assert started.status_code == 200, started.text
    changed = client.get(path, headers={**admin, "If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    assert changed.json()["items"][0]["state"] == "in_progress"


def test_a_tag_tells_nothing_of_an_order_out_of_reach(
    client: TestClient, admin: Headers, context: Context
) -> None:
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 5})
    other = stocked(client, admin, 40, {})
    order = create(client, admin, [(product, 1)])
    path = f"/api/v1/orders/{order['order_id']}"
    tag = client.get(path, headers=admin).headers["ETag"]
    outsider = make_token(context, Role.ASSOCIATE, [other])
    refused = client.get(path, headers={**outsider, "If-None-Match": tag})
    assert refused.status_code == 404, refused.text
    anonymous = client.get(path, headers={"If-None-Match": tag})
    assert anonymous.status_code == 401


# The rules document ------------------------------------------------------------------------


def test_the_rules_carry_an_etag_that_if_none_match_and_if_match_take(
    client: TestClient, admin: Headers
) -> None:
    defaults = client.get(RULES, headers=admin)
    tag = defaults.headers["ETag"]
    assert_strong(tag)
    assert defaults.json() == {"default": True, "document": rules_to_json(default_rules())}
    assert client.get(RULES, headers={**admin, "If-None-Match": tag}).status_code == 304

    saved = client.put(RULES, json=VALID, headers={**admin, "If-Match": tag})
    assert saved.status_code == 200, saved.text
    new_tag = saved.headers["ETag"]
    assert new_tag != tag
    read = client.get(RULES, headers={**admin, "If-None-Match": tag})
    assert read.status_code == 200
    assert read.headers["ETag"] == new_tag and read.json() == saved.json()

    # The defaults saved as a document are another representation (`default` is false).
    as_saved = client.put(RULES, json=rules_to_json(default_rules()), headers=admin)
    assert as_saved.headers["ETag"] not in (tag, new_tag)
    reset = client.delete(RULES, headers=admin)
    assert reset.headers["ETag"] == tag
    assert client.get(RULES, headers={**admin, "If-None-Match": tag}).status_code == 304


def test_saving_the_rules_over_a_version_another_admin_replaced_is_412_and_saves_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    other_admin = make_token(context, Role.ADMIN)
    read = client.get(RULES, headers=admin)
    tag = read.headers["ETag"]
    first = client.put(RULES, json=named(VALID, "First"), headers={**other_admin, "If-Match": tag})
    assert first.status_code == 200, first.text

    for sent in (tag, f"W/{first.headers['ETag']}", '"other"', ""):
        late = client.put(RULES, json=named(VALID, "Second"), headers={**admin, "If-Match": sent})
        assert_refused_412(late)
    now = client.get(RULES, headers=admin)
    assert now.json() == first.json() and now.headers["ETag"] == first.headers["ETag"]
    assert now.json()["document"]["routings"][0]["name"] == "First"

    # Read again, the change goes through; `*` stands for whatever is there; no header, too.
    fresh = {**admin, "If-Match": now.headers["ETag"]}
    assert client.put(RULES, json=named(VALID, "Second"), headers=fresh).status_code == 200
    assert client.put(RULES, json=VALID, headers={**admin, "If-Match": "*"}).status_code == 200
    assert client.put(RULES, json=VALID, headers=admin).status_code == 200


def test_a_stale_if_match_is_412_even_for_a_document_that_is_also_invalid(
    client: TestClient, admin: Headers
) -> None:
    client.put(RULES, json=VALID, headers=admin)
    late = client.put(RULES, json={"routings": "no"}, headers={**admin, "If-Match": '"old"'})
    assert_refused_412(late)


@pytest.fixture
def slow_saves(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pause between the check of `If-Match` and the write: without the lock, both of two
    saves sent at once would pass the check before either writes."""
    save_rules, save_reason = RoutingRepository.save_rules, RejectionRepository.save_reason

    def slow_rules(self: RoutingRepository, *args: Any) -> None:
        time.sleep(0.3)
        save_rules(self, *args)

    def slow_reason(self: RejectionRepository, *args: Any) -> bool:
        time.sleep(0.3)
        return save_reason(self, *args)

    monkeypatch.setattr(RoutingRepository, "save_rules", slow_rules)
    monkeypatch.setattr(RejectionRepository, "save_reason", slow_reason)


@pytest.mark.usefixtures(slow_saves.__name__)
def test_of_two_admins_saving_the_rules_at_once_over_one_version_exactly_one_wins(
    client: TestClient, admin: Headers, context: Context
) -> None:
    tag = client.get(RULES, headers=admin).headers["ETag"]
    admins = [admin, make_token(context, Role.ADMIN), make_token(context, Role.ADMIN)]

    def save(n: int) -> Any:
        headers = {**admins[n], "If-Match": tag}
        return client.put(RULES, json=named(VALID, f"Admin {n}"), headers=headers)

    answers = all_at_once(len(admins), save)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 412, 412], [a.text for a in answers]
    (won,) = [a for a in answers if a.status_code == 200]
    assert client.get(RULES, headers=admin).json() == won.json()


@pytest.mark.usefixtures(slow_saves.__name__)
def test_saves_at_once_without_if_match_each_go_through_one_after_another(
    client: TestClient, admin: Headers
) -> None:
    def save(n: int) -> Any:
        return client.put(RULES, json=named(VALID, f"Plain {n}"), headers=admin)

    answers = all_at_once(3, save)
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]


# A reason ----------------------------------------------------------------------------------


def reason_body(**overrides: Any) -> dict[str, Any]:
    return {
        "label": "Water damage",
        "inventory_effect": "decrease_atp",
        "decline_code": "107",
        "decline_description": "Damaged by water",
        **overrides,
    }


def listed(client: TestClient, headers: Headers, reason_id: str) -> dict[str, Any]:
    answer = client.get(REASONS, headers=headers)
    assert answer.status_code == 200
    found: dict[str, Any] = next(r for r in answer.json() if r["reason_id"] == reason_id)
    return found


def stored_label(context: Context, reason_id: str) -> str | None:
    t = tables.rejection_reasons
    with context.db.transaction(write=False) as conn:
        label: str | None = conn.execute(select(t.c.label).where(t.c.id == reason_id)).scalar()
    return label


def test_each_listed_reason_has_the_etag_its_put_answers_and_if_match_takes(
    client: TestClient, admin: Headers, context: Context
) -> None:
    damaged = listed(client, admin, "DAMAGED")
    assert_strong(damaged["etag"])
    assert len({r["etag"] for r in client.get(REASONS, headers=admin).json()}) == 8
    body = reason_body(label="Broken", sequence=damaged["sequence"])
    saved = client.put(
        f"{REASONS}/DAMAGED", json=body, headers={**admin, "If-Match": damaged["etag"]}
    )
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] == saved.json()["etag"] == listed(client, admin, "DAMAGED")["etag"]
    assert saved.json()["etag"] != damaged["etag"]

    # The stale tag again: refused, nothing saved.
    late = client.put(
        f"{REASONS}/DAMAGED",
        json=reason_body(label="Late"),
        headers={**admin, "If-Match": damaged["etag"]},
    )
    assert_refused_412(late)
    assert stored_label(context, "DAMAGED") == "Broken"

    # If-Match on a reason that does not exist, even `*`: nothing to match, nothing created.
    for sent in ('"anything"', "*"):
        refused = client.put(
            f"{REASONS}/NEW_ONE", json=reason_body(), headers={**admin, "If-Match": sent}
        )
        assert_refused_412(refused)
    assert stored_label(context, "NEW_ONE") is None
    created = client.put(f"{REASONS}/NEW_ONE", json=reason_body(), headers=admin)
    assert created.status_code == 201
    assert created.headers["ETag"] == listed(client, admin, "NEW_ONE")["etag"]


@pytest.mark.usefixtures(slow_saves.__name__)
def test_of_two_admins_saving_a_reason_at_once_over_one_version_exactly_one_wins(
    client: TestClient, admin: Headers, context: Context
) -> None:
    tag = listed(client, admin, "MISMATCH")["etag"]
    admins = [admin, make_token(context, Role.ADMIN), make_token(context, Role.ADMIN)]

    def save(n: int) -> Any:
        headers = {**admins[n], "If-Match": tag}
        return client.put(f"{REASONS}/MISMATCH", json=reason_body(label=f"By {n}"), headers=headers)

    answers = all_at_once(len(admins), save)
    assert sorted(a.status_code for a in answers) == [200, 412, 412], [a.text for a in answers]
    (won,) = [a for a in answers if a.status_code == 200]
    assert stored_label(context, "MISMATCH") == won.json()["label"]


# The document says so ----------------------------------------------------------------------


def test_the_openapi_document_declares_the_tags_and_their_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    def headers_of(operation: dict[str, Any]) -> set[str]:
        return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}

    for read in (paths["/api/v1/orders/{order_id}"]["get"], paths[RULES]["get"]):
        assert "if-none-match" in headers_of(read)
        assert "ETag" in read["responses"]["304"]["headers"]
    for write in (paths[RULES]["put"], paths[REASONS + "/{reason_id}"]["put"]):
        assert "if-match" in headers_of(write)
        assert "412" in write["responses"]
        assert "429" in write["responses"]

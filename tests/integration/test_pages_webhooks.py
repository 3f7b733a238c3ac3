"""The webhooks page: subscribe (secret shown once), switch off and on, deliveries with their
attempts, and sending a failed delivery again."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from reroute.domain.access import Role
from reroute.domain.clock import utcnow
from reroute.services.context import Context
from reroute.storage.tables import deliveries, delivery_attempts
from tests.pages_support import cheap_hashes, person, post_form, sign_in, text_of, two_stores

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def signed_in(client: TestClient, context: Context) -> None:
    sign_in(client, person(context, Role.ADMIN))


def subscribe(client: TestClient) -> tuple[str, str]:
    page = client.get("/admin/webhooks")
    created = post_form(
        client,
        page,
        "/admin/webhooks",
        url="https://oms.example.com/hooks",
        event_types=["StoreDeclineEvent", "ready_shipment"],
    )
    assert created.status_code == 200, created.text
    secret = re.search(r'aria-label="Signing secret">([^<]+)<', created.text)
    webhook = re.search(r'href="/admin/webhooks/(wh_\w+)"', created.text)
    assert secret is not None and webhook is not None
    return webhook.group(1), secret.group(1)


def test_a_new_webhook_shows_its_secret_once(client: TestClient, signed_in: None) -> None:
    webhook, secret = subscribe(client)
    assert secret.startswith("whsec_")
    listed = client.get("/admin/webhooks")
    assert "https://oms.example.com/hooks" in text_of(listed)
    assert "StoreDeclineEvent, ready_shipment" in text_of(listed)
    assert secret not in listed.text
    assert secret not in client.get(f"/admin/webhooks/{webhook}").text


def test_a_bad_url_or_no_event_is_shown_next_to_its_field(
    client: TestClient, signed_in: None
) -> None:
    page = client.get("/admin/webhooks")
    refused = post_form(client, page, "/admin/webhooks", url="ftp://nowhere")
    assert refused.status_code == 422
    assert 'id="err-url"' in refused.text and 'id="err-events"' in refused.text
    assert 'value="ftp://nowhere"' in refused.text
    assert "No webhooks yet" in text_of(refused)


def test_a_url_inside_the_network_is_refused_next_to_its_field(
    client: TestClient, context: Context, signed_in: None
) -> None:
    context.security = replace(context.security, allow_private_webhook_targets=False)
    page = client.get("/admin/webhooks")
    url = "http://169.254.169.254/latest/meta-data/"
    refused = post_form(client, page, "/admin/webhooks", url=url, event_types=["StoreDeclineEvent"])
    assert refused.status_code == 422
    assert 'id="err-url"' in refused.text and 'id="err-events"' not in refused.text
    words = text_of(refused)
    assert "169.254.169.254 is cloud metadata, not a public address" in words
    assert "REROUTE_WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in words
    assert f'value="{url}"' in refused.text
    assert "No webhooks yet" in words


def test_a_webhook_can_be_switched_off_and_on(client: TestClient, signed_in: None) -> None:
    webhook, _ = subscribe(client)
    page = client.get("/admin/webhooks")
    off = post_form(client, page, f"/admin/webhooks/{webhook}/active", active="off")
    assert "is off" in text_of(off) and "Off: Disabled by an admin." in text_of(off)
    on = post_form(client, off, f"/admin/webhooks/{webhook}/active", active="on")
    assert "is on" in text_of(on) and "Switch off" in text_of(on)


def test_deliveries_show_their_attempts_and_a_failed_one_can_be_sent_again(
    client: TestClient, context: Context, admin: dict[str, str], signed_in: None
) -> None:
    webhook, _ = subscribe(client)
    store = two_stores(client, admin, orders=1)
    with context.db.transaction(write=True) as conn:
        delivery = (
            conn.execute(select(deliveries.c.id).where(deliveries.c.webhook_id == webhook))
            .scalars()
            .first()
        )
        assert delivery is not None, "creating the order should have queued a ready_shipment"
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery)
            .values(status="failed", attempts=1, last_error="connection refused")
        )
        conn.execute(
            insert(delivery_attempts).values(
                delivery_id=delivery,
                attempted_at=utcnow(),
                status_code=503,
                duration_ms=42,
                error=None,
                response_excerpt="try later",
            )
        )
    page = client.get(f"/admin/webhooks/{webhook}")
    words = text_of(page)
    assert f"ready_shipment for order {store.orders[0]}" in words
    assert "failed" in words and "connection refused" in words
    assert "Attempts (1)" in words and "503 42 ms try later" in words
    retried = post_form(client, page, f"/admin/deliveries/{delivery}/retry", webhook_id=webhook)
    assert f"Delivery {delivery} will be sent again" in text_of(retried)
    assert "pending" in text_of(retried)
    again = post_form(client, page, f"/admin/deliveries/{delivery}/retry", webhook_id=webhook)
    assert "Not sent again" in text_of(again) and "still being tried" in text_of(again)


def test_an_unknown_webhook_is_a_404_page(client: TestClient, signed_in: None) -> None:
    answer = client.get("/admin/webhooks/wh_nope")
    assert answer.status_code == 404 and "No webhook wh_nope" in text_of(answer)

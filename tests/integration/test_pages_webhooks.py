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


def failed_delivery(
    client: TestClient, context: Context, admin: dict[str, str], webhook: str
) -> int:
    """The endpoint's delivery of a new order's event, failed after one recorded attempt."""
    two_stores(client, admin, orders=1)
    with context.db.transaction(write=True) as conn:
        delivery = (
            conn.execute(select(deliveries.c.id).where(deliveries.c.webhook_id == webhook))
            .scalars()
            .first()
        )
        assert delivery is not None
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
    return int(delivery)


def test_switching_off_asks_first_and_takes_a_reason(client: TestClient, signed_in: None) -> None:
    webhook, _ = subscribe(client)
    listed = client.get("/admin/webhooks")
    assert f'href="/admin/webhooks/{webhook}/pause"' in listed.text
    assert 'name="active" value="off"' not in listed.text  # no one-click switch-off
    asked = client.get(f"/admin/webhooks/{webhook}/pause")
    assert asked.status_code == 200
    assert "Switch off https://oms.example.com/hooks?" in text_of(asked)
    assert "Switch off" in text_of(client.get("/admin/webhooks"))  # asking changed nothing
    off = post_form(
        client, asked, f"/admin/webhooks/{webhook}/active", active="off", reason="Their outage"
    )
    assert "is off" in text_of(off) and "Off: Their outage" in text_of(off)


def test_send_now_makes_a_failed_delivery_due_at_once_and_keeps_its_tries(
    client: TestClient, context: Context, admin: dict[str, str], signed_in: None
) -> None:
    webhook, _ = subscribe(client)
    delivery = failed_delivery(client, context, admin, webhook)
    page = client.get(f"/admin/webhooks/{webhook}")
    assert f'Send now<span class="visually-hidden"> delivery {delivery}</span>' in page.text
    sent = post_form(client, page, f"/admin/deliveries/{delivery}/send-now", webhook_id=webhook)
    assert f"Delivery {delivery} is being sent now" in text_of(sent)
    with context.db.transaction(write=False) as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == delivery)).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert (
        f'Send now<span class="visually-hidden"> delivery {delivery}</span>' in sent.text
    )  # still waiting: again


def test_send_now_on_a_delivered_one_is_refused_in_plain_words(
    client: TestClient, context: Context, admin: dict[str, str], signed_in: None
) -> None:
    webhook, _ = subscribe(client)
    delivery = failed_delivery(client, context, admin, webhook)
    with context.db.transaction(write=True) as conn:
        conn.execute(
            update(deliveries).where(deliveries.c.id == delivery).values(status="delivered")
        )
    page = client.get(f"/admin/webhooks/{webhook}")
    assert f'Send now<span class="visually-hidden"> delivery {delivery}</span>' not in page.text
    refused = post_form(client, page, f"/admin/deliveries/{delivery}/send-now", webhook_id=webhook)
    assert refused.status_code == 200
    assert "Not sent now" in text_of(refused) and "delivered already" in text_of(refused)


def test_a_delivery_shows_one_attempt_count_after_it_was_sent_again(
    client: TestClient, context: Context, admin: dict[str, str], signed_in: None
) -> None:
    """Sending again restarts the row's schedule counter; the page counts the tries made."""
    webhook, _ = subscribe(client)
    delivery = failed_delivery(client, context, admin, webhook)
    page = client.get(f"/admin/webhooks/{webhook}")
    post_form(client, page, f"/admin/deliveries/{delivery}/retry", webhook_id=webhook)
    with context.db.transaction(write=True) as conn:  # the second try fails too
        conn.execute(
            insert(delivery_attempts).values(
                delivery_id=delivery,
                attempted_at=utcnow(),
                status_code=500,
                duration_ms=7,
                error=None,
                response_excerpt="boom",
            )
        )
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery)
            .values(status="failed", attempts=1)
        )
    words = text_of(client.get(f"/admin/webhooks/{webhook}"))
    assert "· 2 attempts" in words and "Attempts (2)" in words
    assert "1 attempt " not in words


def test_rotating_the_secret_asks_first_and_shows_the_new_one_once(
    client: TestClient, signed_in: None
) -> None:
    webhook, secret = subscribe(client)
    asked = client.get(f"/admin/webhooks/{webhook}/rotate")
    assert "Rotate the secret of https://oms.example.com/hooks?" in text_of(asked)
    rotated = post_form(client, asked, f"/admin/webhooks/{webhook}/rotate")
    assert rotated.status_code == 200
    new = re.search(r'aria-label="New signing secret">([^<]+)<', rotated.text)
    assert new is not None and new.group(1).startswith("whsec_") and new.group(1) != secret
    assert "signs beside it for 24 hours" in text_of(rotated)
    assert new.group(1) not in client.get("/admin/webhooks").text


def test_a_ping_is_queued_for_the_endpoint_and_listed(
    client: TestClient, context: Context, signed_in: None
) -> None:
    webhook, _ = subscribe(client)
    page = client.get(f"/admin/webhooks/{webhook}")
    pinged = post_form(client, page, f"/admin/webhooks/{webhook}/ping")
    assert "A ping is on its way" in text_of(pinged)
    assert "ping (a test)" in text_of(pinged)

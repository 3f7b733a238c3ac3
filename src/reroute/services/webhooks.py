"""Webhook endpoints an admin subscribes, their deliveries, replays, and the event feed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from reroute.delivery import targets
from reroute.delivery.signing import new_secret
from reroute.domain.access import Principal, Role
from reroute.domain.errors import Conflict, FieldError, Invalid, NotFound
from reroute.domain.notifications import DeliveryStatus, EventType, event_time
from reroute.services.context import Context
from reroute.storage.repositories.outbox import PING, StoredEvent
from reroute.storage.repositories.webhooks import Webhook
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work

#: After a rotation the old secret signs beside the new one this long, so receivers can switch.
ROTATION_OVERLAP = timedelta(hours=24)
DISABLED_BY_ADMIN = "Disabled by an admin."
SUPERSEDED = "A newer ping replaced this one."


def _url_problems(ctx: Context, url: str) -> list[FieldError]:
    if not targets.absolute_http(url):
        return [FieldError("url", "Must be an absolute http or https URL.")]
    if not ctx.security.allow_private_webhook_targets:
        # Checked again at every delivery: DNS may change after this.
        refused = targets.check_url(url)
        if refused is not None:
            return [FieldError("url", refused)]
    return []


def _check(ctx: Context, url: str | None, event_types: list[str] | None) -> None:
    """The URL and event types (those given: None is left unchecked, an update keeps it)."""
    problems = _url_problems(ctx, url) if url is not None else []
    if event_types is not None:
        problems += _type_problems(event_types)
    if problems:
        raise Invalid("The webhook cannot be saved.", problems)


def _type_problems(event_types: list[str]) -> list[FieldError]:
    problems = []
    known = {str(t) for t in EventType}
    for n, event_type in enumerate(event_types):
        if event_type not in known:
            problems.append(
                FieldError(
                    f"event_types.{n}", f"Unknown event type; known: {', '.join(sorted(known))}."
                )
            )
    if not event_types:
        problems.append(FieldError("event_types", "Subscribe to at least one event type."))
    return problems


def _known(uow: UnitOfWork, webhook_id: str) -> Webhook:
    found = uow.webhooks.get(webhook_id)
    if found is None:
        raise NotFound(f"No webhook {webhook_id}.")
    return found


def create_webhook(ctx: Context, url: str, event_types: list[str], actor: Principal) -> Webhook:
    """A new endpoint; its secret is in this answer only. Its host must be public (unless
    private targets are allowed)."""
    actor.require_role(Role.ADMIN)
    _check(ctx, url, event_types)
    webhook = Webhook(
        id=f"wh_{secrets.token_hex(8)}",
        url=url,
        event_types=list(dict.fromkeys(event_types)),
        secret=new_secret(),
        active=True,
        disabled_reason=None,
        created_at=None,
    )
    with unit_of_work(ctx.db) as uow:
        uow.webhooks.add(webhook, uow.now)
        return uow.webhooks.get(webhook.id) or webhook


def list_webhooks(ctx: Context, actor: Principal) -> list[Webhook]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.webhooks.all()


def get_webhook(ctx: Context, webhook_id: str, actor: Principal) -> Webhook:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db, write=False) as uow:
        return _known(uow, webhook_id)


def set_active(
    ctx: Context, webhook_id: str, active: bool, actor: Principal, reason: str | None = None
) -> Webhook:
    """Pause (deliveries wait, unsent, with `reason` shown) or resume (they go out again)."""
    return update_webhook(ctx, webhook_id, actor, active=active, reason=reason)


def update_webhook(
    ctx: Context,
    webhook_id: str,
    actor: Principal,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
    reason: str | None = None,
) -> Webhook:
    """Change what is given, with the checks of `create_webhook`; the rest stays. A URL or
    event types from now on: pending deliveries go to the new URL, and the event types decide
    for events written after this. `reason` says why it is paused (with `active` false)."""
    actor.require_role(Role.ADMIN)
    if reason is not None and active is not False:
        raise Invalid(
            "A reason goes with pausing.",
            [FieldError("reason", 'Give a reason only with "active": false.')],
        )
    _check(ctx, url, event_types)
    with unit_of_work(ctx.db) as uow:
        _known(uow, webhook_id)
        if url is not None or event_types is not None:
            wanted = list(dict.fromkeys(event_types)) if event_types is not None else None
            uow.webhooks.change(webhook_id, uow.now, url=url, event_types=wanted)
        if active is not None:
            why = None if active else (reason or "").strip() or DISABLED_BY_ADMIN
            uow.webhooks.set_active(webhook_id, active, why, uow.now)
        found = _known(uow, webhook_id)
    if active:
        ctx.wake()
    return found


def rotate_secret(ctx: Context, webhook_id: str, actor: Principal) -> Webhook:
    """A new secret, answered once. The one it replaces signs beside it for ROTATION_OVERLAP
    (each request then carries both signatures); a secret older than that stops at once."""
    actor.require_role(Role.ADMIN)
    secret = new_secret()
    with unit_of_work(ctx.db) as uow:
        current = _known(uow, webhook_id)
        uow.webhooks.rotate(webhook_id, secret, current.secret, uow.now + ROTATION_OVERLAP, uow.now)
        return _known(uow, webhook_id)


def ping_body(mfg_id: str, moment: Any) -> str:
    """A `ping` in the shape of every event (SPEC 6.2), of no order, location or item."""
    body: dict[str, Any] = {
        "eventTypeID": PING,
        "orderID": None,
        "externalLocationID": None,
        "locationName": None,
        "eventTime": event_time(moment),
        "reasonCode": None,
        "reasonDescription": None,
        "orderItemID": None,
        "data": [],
        "scope": {"mfgID": mfg_id, "catalogID": "0", "fulfillerID": None},
    }
    return json.dumps(body, ensure_ascii=False)


def ping(ctx: Context, webhook_id: str, actor: Principal) -> dict[str, Any]:
    """Queue one `ping` event for this endpoint only, signed and sent like any event (it is not
    in the event feed). A ping still waiting for this endpoint is replaced by the new one."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        webhook = _known(uow, webhook_id)
        if not webhook.active:
            raise Conflict(f"Webhook {webhook_id} is paused; resume it to ping it.")
        uow.webhooks.cancel_waiting(webhook_id, "", SUPERSEDED, uow.now)
        body = ping_body(ctx.settings(uow).mfg_id, uow.now)
        delivery_id = uow.outbox.append_for(PING, "", body, webhook_id, uow.now)
        found = uow.webhooks.delivery(delivery_id)
        assert found is not None
    ctx.wake()
    return found


def delete_webhook(ctx: Context, webhook_id: str, actor: Principal) -> None:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        _known(uow, webhook_id)
        uow.webhooks.remove(webhook_id, uow.now)


def deliveries(
    ctx: Context,
    webhook_id: str,
    actor: Principal,
    *,
    limit: int = 50,
    before_id: int | None = None,
    statuses: Collection[DeliveryStatus] = (),
) -> list[dict[str, Any]]:
    """Newest first, older than `before_id` if given, of these statuses if any named."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db, write=False) as uow:
        _known(uow, webhook_id)
        return uow.webhooks.deliveries_of(webhook_id, limit, before_id, statuses)


def send_now(ctx: Context, delivery_id: int, actor: Principal) -> dict[str, Any]:
    """Make a pending or failed delivery due at once, without waiting for its next retry; its
    tries so far count (a failed one gets one more). It still goes after earlier events of the
    same order to the same endpoint. A delivered one is refused: replay it with `retry`."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        found = uow.webhooks.delivery(delivery_id)
        if found is None:
            raise NotFound(f"No delivery {delivery_id}.")
        if found["status"] is DeliveryStatus.DELIVERED:
            raise Conflict(
                f"Delivery {delivery_id} was delivered already; replay it with "
                f"POST /api/v1/deliveries/{delivery_id}/retry."
            )
        if found["status"] is DeliveryStatus.CANCELED:
            raise Conflict(f"Delivery {delivery_id} was canceled; it is not sent.")
        webhook = uow.webhooks.get(found["webhook_id"])
        if webhook is None or not webhook.active:
            raise Conflict(
                f"Webhook {found['webhook_id']} is disabled or deleted; enable it first."
            )
        uow.webhooks.send_now(delivery_id, uow.now)
        result = uow.webhooks.delivery(delivery_id)
        assert result is not None
    ctx.wake()
    return result


def retry_delivery(ctx: Context, delivery_id: int, actor: Principal) -> dict[str, Any]:
    """Send a failed delivery again (same event, same webhook-id), from the schedule's start."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        found = uow.webhooks.delivery(delivery_id)
        if found is None:
            raise NotFound(f"No delivery {delivery_id}.")
        if found["status"] is DeliveryStatus.PENDING:
            raise Conflict(f"Delivery {delivery_id} is still being tried; wait for its outcome.")
        webhook = uow.webhooks.get(found["webhook_id"])
        if webhook is None or not webhook.active:
            raise Conflict(
                f"Webhook {found['webhook_id']} is disabled or deleted; enable it first."
            )
        uow.webhooks.replay(delivery_id, uow.now)
        result = uow.webhooks.delivery(delivery_id)
        assert result is not None
    ctx.wake()
    return result


def feed(ctx: Context, actor: Principal, after: int, limit: int) -> list[tuple[StoredEvent, Any]]:
    """Events in the order they were written, after the cursor (an event's id)."""
    actor.require_role(Role.ADMIN, Role.INTEGRATION)
    with unit_of_work(ctx.db, write=False) as uow:
        events = uow.outbox.feed(after, limit)
    return [(e, json.loads(e.body)) for e in events]

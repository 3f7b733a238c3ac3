"""Webhook endpoints an admin subscribes, their deliveries, replays, and the event feed."""

from __future__ import annotations

import json
import secrets
from typing import Any

from reroute.delivery import targets
from reroute.delivery.signing import new_secret
from reroute.domain.access import Principal, Role
from reroute.domain.errors import Conflict, FieldError, Invalid, NotFound
from reroute.domain.notifications import DeliveryStatus, EventType
from reroute.services.context import Context
from reroute.storage.repositories.outbox import StoredEvent
from reroute.storage.repositories.webhooks import Webhook
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work


def _check(ctx: Context, url: str, event_types: list[str]) -> None:
    problems = []
    if not targets.absolute_http(url):
        problems.append(FieldError("url", "Must be an absolute http or https URL."))
    elif not ctx.security.allow_private_webhook_targets:
        # Checked again at every delivery: DNS may change after this.
        refused = targets.check_url(url)
        if refused is not None:
            problems.append(FieldError("url", refused))
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
    if problems:
        raise Invalid("The webhook cannot be saved.", problems)


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


def set_active(ctx: Context, webhook_id: str, active: bool, actor: Principal) -> Webhook:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        _known(uow, webhook_id)
        uow.webhooks.set_active(
            webhook_id, active, None if active else "Disabled by an admin.", uow.now
        )
        found = _known(uow, webhook_id)
    if active:
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
) -> list[dict[str, Any]]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db, write=False) as uow:
        _known(uow, webhook_id)
        return uow.webhooks.deliveries_of(webhook_id, limit, before_id)


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

"""When to try a delivery again, and when to stop."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from reroute.domain.notifications import DeliveryStatus

#: Why an endpoint was switched off, and its waiting deliveries failed.
GONE = "The endpoint answered 410 Gone."

#: SPEC 6.3: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


def parse_schedule(text: str) -> tuple[float, ...]:
    """`REROUTE_WEBHOOK_RETRY_SCHEDULE`: seconds before each attempt, comma-separated."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(
            f"Retry schedule must be seconds separated by commas, got {text!r}"
        ) from exc
    if not values or any(v < 0 for v in values):
        raise ValueError(f"Retry schedule needs at least one delay of 0 or more, got {text!r}")
    return values


@dataclass(frozen=True)
class Verdict:
    status: DeliveryStatus
    next_attempt_at: datetime
    disable_endpoint: bool = False


def judge(
    *,
    status_code: int | None,
    attempts_done: int,
    now: datetime,
    schedule: tuple[float, ...],
    retry_after: float | None = None,
    refused: bool = False,
) -> Verdict:
    """What follows an attempt: 2xx is done; 410 Gone stops the endpoint; a target refused
    as not public fails at once (nothing was sent, and sending again would be refused again:
    a replay, once the endpoint's DNS is right, sends it); anything else is tried again on the
    schedule (honouring Retry-After), until the schedule runs out."""
    if refused:
        return Verdict(DeliveryStatus.FAILED, now)
    if status_code is not None and 200 <= status_code < 300:
        return Verdict(DeliveryStatus.DELIVERED, now)
    if status_code == 410:
        return Verdict(DeliveryStatus.FAILED, now, disable_endpoint=True)
    if attempts_done >= len(schedule):
        return Verdict(DeliveryStatus.FAILED, now)
    delay = schedule[attempts_done]
    delay *= random.uniform(0.9, 1.1)  # jitter: retries of many events do not arrive together
    if retry_after is not None:
        delay = max(delay, min(retry_after, 24 * 3600))
    return Verdict(DeliveryStatus.PENDING, now + timedelta(seconds=delay))

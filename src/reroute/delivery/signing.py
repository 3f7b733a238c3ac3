"""Standard Webhooks signing: receivers verify with the public `standardwebhooks` library."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(
    secret: str,
    message_id: str,
    moment: datetime,
    body: str,
    previous: str | None = None,
) -> dict[str, str]:
    """The three headers of a signed request; `message_id` is the same on every retry.

    With `previous` (the secret before a rotation, still in its overlap), the request carries
    both signatures, space-separated as Standard Webhooks allows: a receiver that still holds
    the old secret and one that has the new both verify it."""
    signatures = [Webhook(secret).sign(message_id, moment, body)]
    if previous is not None and previous != secret:
        signatures.append(Webhook(previous).sign(message_id, moment, body))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": "Reroute-Webhooks/1",
    }

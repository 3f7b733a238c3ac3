"""Delivery rules without a network (SPEC 6.3): the retry schedule and its override, what follows
each attempt, and Standard Webhooks signing checked with the public library."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reroute.config import Config
from reroute.delivery import signing
from reroute.delivery.policy import DEFAULT_SCHEDULE, judge, parse_schedule
from reroute.delivery.worker import WorkerSettings

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
HOUR = 3600


def test_the_default_schedule_is_the_specs() -> None:
    # At once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR)
    assert WorkerSettings().schedule == DEFAULT_SCHEDULE
    # A 2xx within 15 s is success: the read timeout is 15 s.
    assert WorkerSettings().read_timeout == 15.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0,5,300", (0.0, 5.0, 300.0)),
        (" 0 , 0.05,0.1 ", (0.0, 0.05, 0.1)),
        ("0,1,", (0.0, 1.0)),
        ("2", (2.0,)),
    ],
)
def test_a_schedule_is_seconds_separated_by_commas(text: str, expected: tuple[float, ...]) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["", ",", "soon", "0,-1", "1;2"])
def test_a_malformed_schedule_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="schedule"):
        parse_schedule(text)


def test_the_environment_overrides_the_schedule_and_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REROUTE_WEBHOOK_RETRY_SCHEDULE", "0,0.05,0.1")
    monkeypatch.setenv("REROUTE_WEBHOOK_LEASE_SECONDS", "1")
    settings = Config().worker_settings()
    assert settings.schedule == (0.0, 0.05, 0.1)
    assert settings.lease_seconds == 1.0
    monkeypatch.setenv("REROUTE_WEBHOOK_RETRY_SCHEDULE", "never")
    with pytest.raises(ValueError, match="schedule"):
        Config().worker_settings()


def test_without_the_environment_the_specs_schedule_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REROUTE_WEBHOOK_RETRY_SCHEDULE", raising=False)
    assert Config().worker_settings().schedule == DEFAULT_SCHEDULE


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_is_delivered(status: int) -> None:
    verdict = judge(status_code=status, attempts_done=1, now=NOW, schedule=DEFAULT_SCHEDULE)
    assert (verdict.status, verdict.disable_endpoint) == ("delivered", False)


@pytest.mark.parametrize("status", [None, 100, 301, 400, 401, 404, 429, 500, 502, 503])
def test_anything_else_is_tried_again_on_the_schedule(status: int | None) -> None:
    verdict = judge(status_code=status, attempts_done=1, now=NOW, schedule=DEFAULT_SCHEDULE)
    assert verdict.status == "pending"
    assert not verdict.disable_endpoint
    delay = (verdict.next_attempt_at - NOW).total_seconds()
    assert 4.5 <= delay <= 5.5  # 5 s, with at most 10 % jitter


def test_410_gone_fails_at_once_and_disables_the_endpoint() -> None:
    verdict = judge(status_code=410, attempts_done=1, now=NOW, schedule=DEFAULT_SCHEDULE)
    assert (verdict.status, verdict.disable_endpoint) == ("failed", True)


def test_the_whole_schedule_is_eight_attempts_then_failed() -> None:
    delays = []
    attempts = 0
    while True:
        attempts += 1
        verdict = judge(status_code=500, attempts_done=attempts, now=NOW, schedule=DEFAULT_SCHEDULE)
        if verdict.status == "failed":
            break
        assert verdict.status == "pending"
        delays.append((verdict.next_attempt_at - NOW).total_seconds())
        assert attempts < 100
    assert attempts == len(DEFAULT_SCHEDULE) == 8
    for got, planned in zip(delays, DEFAULT_SCHEDULE[1:], strict=True):
        assert planned * 0.9 <= got <= planned * 1.1, (got, planned)
    assert not verdict.disable_endpoint


def test_a_short_schedule_for_tests_runs_out_as_quickly() -> None:
    schedule = (0.0, 0.05, 0.05)
    assert judge(status_code=503, attempts_done=2, now=NOW, schedule=schedule).status == "pending"
    assert judge(status_code=503, attempts_done=3, now=NOW, schedule=schedule).status == "failed"


def test_retry_after_stretches_a_delay_but_never_beyond_a_day() -> None:
    later = judge(
        status_code=503, attempts_done=1, now=NOW, schedule=DEFAULT_SCHEDULE, retry_after=120
    )
    assert later.next_attempt_at == NOW + timedelta(seconds=120)
    capped = judge(
        status_code=429, attempts_done=1, now=NOW, schedule=DEFAULT_SCHEDULE, retry_after=10**9
    )
    assert capped.next_attempt_at == NOW + timedelta(days=1)
    sooner = judge(
        status_code=503, attempts_done=2, now=NOW, schedule=DEFAULT_SCHEDULE, retry_after=1
    )
    assert (sooner.next_attempt_at - NOW).total_seconds() >= 270  # the schedule's 5 min stands


# Signing ----------------------------------------------------------------------------------------

BODY = json.dumps(
    {"eventTypeID": "StoreDeclineEvent", "locationName": "Tienda Müller"}, ensure_ascii=False
)


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.new_secret() != secret


def test_the_headers_verify_with_the_public_library() -> None:
    secret = signing.new_secret()
    moment = datetime.now(UTC)
    headers = signing.headers(secret, "msg_1", moment, BODY)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(moment.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY.encode(), headers) == json.loads(BODY)


def test_a_changed_body_id_or_secret_does_not_verify() -> None:
    secret = signing.new_secret()
    headers = signing.headers(secret, "msg_1", datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("Müller", "Muller"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


def test_the_same_message_signs_the_same_on_a_retry_at_the_same_second() -> None:
    secret = signing.new_secret()
    moment = datetime.now(UTC).replace(microsecond=0)
    first = signing.headers(secret, "msg_1", moment, BODY)
    again = signing.headers(secret, "msg_1", moment + timedelta(microseconds=500), BODY)
    assert first == again

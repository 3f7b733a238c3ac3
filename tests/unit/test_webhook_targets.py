"""Which webhook targets are refused (SSRF), without a network: every class of non-public
address in IPv4 and IPv6 and the IPv6 forms that carry an IPv4 one, names that resolve to them
('localhost' through the system resolver, others through a fake one), the setting that allows
them, the connection made to the very address that was checked, the one deadline over a whole
exchange, and that a refused delivery fails at once."""

from __future__ import annotations

import ipaddress
import socket
import time
from datetime import UTC, datetime
from typing import Any

import httpcore
import pytest

from reroute.delivery import targets
from reroute.delivery.policy import judge
from reroute.delivery.targets import Refusal, TargetRefused, check_url, classify, refusal
from reroute.delivery.transport import GuardedBackend, _DeadlineStream, exchange_deadline
from reroute.delivery.worker import WorkerSettings

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

REFUSED = [
    # IPv4
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.0.1", "link-local"),
    ("169.254.169.254", "cloud metadata"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.100.100.200", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "reserved"),
    ("198.18.0.1", "reserved"),
    ("198.51.100.7", "reserved"),
    ("203.0.113.9", "reserved"),
    ("192.0.0.8", "reserved"),
    # IPv6
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("febf::1", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456:789a::1", "unique-local"),
    ("fd00:ec2::254", "cloud metadata"),
    ("ff02::1", "multicast"),
    ("fec0::1", "reserved"),
    ("2001:db8::1", "reserved"),
    ("100::1", "reserved"),
    ("::a00:1", "reserved"),  # IPv4-compatible, long deprecated
    ("4000::1", "reserved"),  # outside global unicast
    # IPv6 forms of IPv4 addresses
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::ffff:100.64.0.1", "carrier-grade NAT"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("64:ff9b::7f00:1", "loopback"),
    ("2002:a9fe:a9fe::1", "cloud metadata"),  # 6to4 of 169.254.169.254
    ("2002:c0a8:101::", "private"),  # 6to4 of 192.168.1.1
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "172.32.0.1",  # just past 172.16.0.0/12
    "100.128.0.1",  # just past 100.64.0.0/10
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_every_class_of_non_public_address_is_named(address: str, kind: str) -> None:
    assert classify(ipaddress.ip_address(address)) == kind
    found = refusal(address, [address])
    assert found is not None and found.kind == kind


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None
    assert refusal(address, [address]) is None


def test_the_delivery_log_says_which_address_was_refused_and_why() -> None:
    assert str(refusal("10.0.0.1", ["10.0.0.1"])) == "target address 10.0.0.1 is private; refused"
    named = refusal("hooks.example.net", ["93.184.215.14", "192.168.0.7"])
    assert str(named) == "target address 192.168.0.7 of hooks.example.net is private; refused"
    mapped = refusal("::ffff:10.0.0.1", ["::ffff:10.0.0.1"])
    assert mapped is not None and "(it is IPv4 10.0.0.1)" in str(mapped)


def test_one_non_public_answer_among_public_ones_refuses_the_name() -> None:
    assert refusal("mixed.example.net", ["93.184.215.14", "2606:4700::1", "::1"]) == Refusal(
        "::1", "loopback", "mixed.example.net"
    )
    assert refusal("public.example.net", ["93.184.215.14", "2606:4700::1"]) is None


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.google.internal.", "metadata.goog", "metadata"]
)
def test_cloud_metadata_names_are_refused_whatever_they_resolve_to(host: str) -> None:
    found = refusal(host, ["93.184.215.14"])
    assert found is not None and found.kind == "cloud metadata"
    message = check_url(f"http://{host}/computeMetadata/v1/", resolve=_never)
    assert message is not None and "cloud metadata" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:5432/", "127.0.0.1 is loopback"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is cloud metadata"),
        ("http://[::1]:8080/hook", "::1 is loopback"),
        ("https://10.0.0.1/hook", "10.0.0.1 is private"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is cloud metadata"),
        ("http://[::ffff:192.168.0.1]/", "it is IPv4 192.168.0.1"),
    ],
)
def test_registration_names_the_address_and_what_to_do(url: str, shown: str) -> None:
    message = check_url(url, resolve=_never)
    assert message is not None
    assert shown in message
    assert "public" in message and "REROUTE_WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in message


def test_localhost_is_refused_by_what_it_resolves_to() -> None:
    message = check_url("http://localhost:8000/hooks")
    assert message is not None
    assert message.startswith("localhost resolves to ") and "loopback" in message


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0x7f.1/"]
)
def test_numeric_spellings_of_loopback_are_resolved_then_refused(url: str) -> None:
    message = check_url(url)  # the system resolver reads these without asking DNS
    assert message is not None and "127.0.0.1, which is loopback" in message


def test_a_name_is_checked_by_every_address_it_resolves_to() -> None:
    answers = {"hooks.example.net": ["93.184.215.14", "10.1.2.3"], "ok.example.net": ["8.8.8.8"]}
    resolve = _fake(answers)
    message = check_url("https://hooks.example.net/reroute", resolve=resolve)
    assert message is not None and "hooks.example.net resolves to 10.1.2.3" in message
    assert check_url("https://ok.example.net/reroute", resolve=resolve) is None


def test_a_name_that_does_not_resolve_yet_is_accepted_and_checked_at_delivery() -> None:
    assert check_url("https://not-yet.example.net/hook", resolve=_never) is None


@pytest.mark.parametrize(
    ("url", "absolute"),
    [
        ("https://hooks.example.com/x", True),
        ("http://10.0.0.1:8080", True),
        ("ftp://example.com/x", False),
        ("example.com/hook", False),
        ("http://", False),
        ("http://[::1", False),
        ("http://0177.0.0.1/", False),  # octal: not an address httpx would send to
        ("not a url", False),
    ],
)
def test_only_absolute_http_urls_with_a_host_are_urls(url: str, absolute: bool) -> None:
    assert targets.absolute_http(url) is absolute


# Connecting ----------------------------------------------------------------------------------


class _Stream(httpcore.NetworkStream):
    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.timeouts.append(timeout)
        return b""

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)

    def close(self) -> None:
        pass


class _Inner(httpcore.NetworkBackend):
    """Records where it was asked to connect; refuses the addresses in `down`."""

    def __init__(self, down: tuple[str, ...] = ()) -> None:
        self.down = down
        self.connected: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> _Stream:
        self.connected.append((host, port))
        if host in self.down:
            raise httpcore.ConnectError("Connection refused")
        return _Stream()


def test_the_connection_goes_to_the_address_that_was_checked_from_one_lookup() -> None:
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        # A rebinding name: a second lookup would answer loopback.
        return ["93.184.215.14"] if len(asked) == 1 else ["127.0.0.1"]

    inner = _Inner()
    backend = GuardedBackend(lambda: False, resolve, inner)
    backend.connect_tcp("rebind.example.net", 443, timeout=2.0)
    assert asked == ["rebind.example.net"]
    assert inner.connected == [("93.184.215.14", 443)]


def test_a_refused_target_is_never_connected_to() -> None:
    inner = _Inner()
    backend = GuardedBackend(
        lambda: False, _fake({"in.example.net": ["8.8.8.8", "10.0.0.5"]}), inner
    )
    with pytest.raises(TargetRefused) as refused:
        backend.connect_tcp("in.example.net", 80)
    assert str(refused.value) == "target address 10.0.0.5 of in.example.net is private; refused"
    with pytest.raises(TargetRefused):
        backend.connect_tcp("169.254.169.254", 80)
    assert inner.connected == []


def test_with_private_targets_allowed_loopback_is_connected_to() -> None:
    inner = _Inner()
    GuardedBackend(lambda: True, targets.system_resolve, inner).connect_tcp("127.0.0.1", 8080)
    assert inner.connected == [("127.0.0.1", 8080)]


def test_each_checked_address_is_tried_in_turn() -> None:
    inner = _Inner(down=("2606:4700::1",))
    resolve = _fake({"two.example.net": ["2606:4700::1", "93.184.215.14"]})
    GuardedBackend(lambda: False, resolve, inner).connect_tcp("two.example.net", 443)
    assert inner.connected == [("2606:4700::1", 443), ("93.184.215.14", 443)]


def test_a_name_that_does_not_resolve_is_a_connection_error_tried_again_later() -> None:
    with pytest.raises(httpcore.ConnectError, match=r"cannot resolve gone\.example\.net"):
        GuardedBackend(lambda: False, _never, _Inner()).connect_tcp("gone.example.net", 443)


def test_every_read_and_write_waits_at_most_for_what_is_left_of_the_deadline() -> None:
    inner = _Stream()
    stream = _DeadlineStream(inner)
    stream.read(10, timeout=None)  # outside an exchange: as asked
    with exchange_deadline(0.3):
        stream.read(10, timeout=15.0)
        stream.write(b"x", timeout=15.0)
        time.sleep(0.35)
        with pytest.raises(httpcore.ReadTimeout, match="deadline for the whole exchange"):
            stream.read(10, timeout=15.0)
        with pytest.raises(httpcore.WriteTimeout):
            stream.write(b"x", timeout=15.0)
    first, during, writing = inner.timeouts
    assert first is None
    assert during is not None and 0 < during <= 0.3
    assert writing is not None and writing <= during


# Delivery rules ------------------------------------------------------------------------------


def test_a_refused_delivery_fails_at_once_instead_of_being_tried_again() -> None:
    verdict = judge(status_code=None, attempts_done=1, now=NOW, schedule=(0, 5, 300), refused=True)
    assert (verdict.status, verdict.disable_endpoint) == ("failed", False)
    again = judge(status_code=None, attempts_done=1, now=NOW, schedule=(0, 5, 300))
    assert again.status == "pending"


def test_one_exchange_has_one_15_second_deadline_and_reads_at_most_64_kib() -> None:
    settings = WorkerSettings()
    assert (settings.deadline, settings.reply_bytes) == (15.0, 65_536)
    assert settings.limits().excerpt_chars == 500


def test_one_endpoint_gets_at_most_half_the_senders_and_a_slow_one_an_eighth() -> None:
    assert (WorkerSettings().lane_width, WorkerSettings().slow_width) == (8, 2)
    assert (WorkerSettings(concurrency=8).lane_width, WorkerSettings(concurrency=8).slow_width) == (
        4,
        1,
    )
    assert WorkerSettings(concurrency=1).lane_width == 1
    assert WorkerSettings(concurrency=16, per_endpoint=3).lane_width == 3


# Helpers -------------------------------------------------------------------------------------


def _fake(answers: dict[str, list[str]]) -> targets.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            return _never(host, port)
        return answers[host]

    return resolve


def _never(host: str, port: int) -> list[str]:
    found = targets.literal(host)
    if found is not None:
        return [str(found)]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

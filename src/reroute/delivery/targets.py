"""Where a webhook may be sent: public addresses only, unless the operator allows private ones.

An endpoint is someone else's server, named by an admin; without this check its URL could make
Reroute post to, and show the reply of, whatever listens inside our own network: the database on
127.0.0.1:5432, a cloud metadata service, an internal admin panel. So a host that is, or resolves
to, an address that is not public is refused: loopback, private (RFC 1918), link-local,
unique-local, carrier-grade NAT, unspecified, multicast, reserved and documentation ranges, cloud
metadata, and IPv6 forms that carry such an IPv4 address (mapped, NAT64, 6to4). Every address a
name resolves to is checked, since a connection may use any of them.

`REROUTE_WEBHOOK_ALLOW_PRIVATE_TARGETS=true` switches the check off (development, a receiver on
the same host); the callers decide that, this module only classifies.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host, port -> every address the host stands for, in the order to try them.
Resolver = Callable[[str, int], list[str]]

ALLOW_SETTING = "REROUTE_WEBHOOK_ALLOW_PRIVATE_TARGETS=true"
METADATA = "cloud metadata"
#: Names of metadata services that resolve to them only inside the cloud.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _table(*rows: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(net), kind) for net, kind in rows)


# First match wins: the more specific rows come first.
_IPV4 = _table(
    ("169.254.169.254/32", METADATA),
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "reserved"),
    ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
_IPV6 = _table(
    ("fd00:ec2::254/128", METADATA),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "reserved"),
    ("ff00::/8", "multicast"),
    ("64:ff9b:1::/48", "reserved"),
    ("2001::/23", "reserved"),
    ("2001:db8::/32", "reserved"),
    ("3fff::/20", "reserved"),
)
#: Every other IPv6 address outside global unicast is unassigned or special.
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def classify(address: IPAddress) -> str | None:
    """What kind of non-public address this is, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return classify(embedded)
        table: Iterable[tuple[Network, str]] = _IPV6
    else:
        table = _IPV4
    for network, kind in table:
        if address in network:
            return kind
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return "reserved"
    if not address.is_global:  # whatever the registry adds that the table above lacks
        return "reserved"
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: mapped (::ffff:a.b.c.d), NAT64, 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


@dataclass(frozen=True)
class Refusal:
    """Why a target is refused: `address` (or the name itself, for a metadata name) is `kind`;
    `host` is the name that resolved to it, if the URL named one."""

    address: str
    kind: str
    host: str | None = None

    @property
    def _kind(self) -> str:
        try:
            inside = embedded_ipv4(ipaddress.IPv6Address(self.address))
        except ValueError:
            inside = None
        return self.kind if inside is None else f"{self.kind} (it is IPv4 {inside})"

    def __str__(self) -> str:
        """For the delivery log."""
        of = f" of {self.host}" if self.host else ""
        return f"target address {self.address}{of} is {self._kind}; refused"

    def for_people(self) -> str:
        """For the admin who typed the URL: what is wrong and what to do."""
        what = f"{self.host} resolves to {self.address}, which" if self.host else self.address
        return (
            f"{what} is {self._kind}, not a public address; webhooks are sent to public "
            f"addresses only. Use a public host name or address ({ALLOW_SETTING} allows "
            "private ones, for development)."
        )


class TargetRefused(Exception):
    """A delivery's target is not public: nothing was sent."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


def normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


def literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(normal_host(host))
    except ValueError:
        return None


def system_resolve(host: str, port: int) -> list[str]:
    """Every address of `host` (an IP literal stands for itself), without repeats; raises
    OSError (socket.gaierror) when the name does not resolve."""
    found = literal(host)
    if found is not None:
        return [str(found)]
    addresses: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def refusal(host: str, addresses: Iterable[str]) -> Refusal | None:
    """The first reason to refuse `host`, given what it resolved to; None when all are public."""
    name = normal_host(host)
    if name in METADATA_HOSTS:
        return Refusal(name, METADATA)
    named = None if literal(host) is not None else name
    for address in addresses:
        try:
            parsed = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return Refusal(address, "not an IP address", named)
        kind = classify(parsed)
        if kind is not None:
            return Refusal(str(parsed), kind, named)
    return None


def absolute_http(url: str) -> bool:
    """An http(s) URL with a host, read alike by urlsplit and by httpx (whose parsing the
    sender uses)."""
    try:
        parts = urlsplit(url)
        sent = httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and sent.scheme in ("http", "https")
        and bool(sent.host)
    )


def check_url(url: str, resolve: Resolver = system_resolve) -> str | None:
    """At registration: a message for the admin when the URL's host is not public, else None.

    A name that does not resolve now is accepted: DNS may come later, and every delivery
    resolves and checks again before it connects.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None  # the caller's own URL checks say what is wrong with it
    host = parsed.host
    if not host:
        return None
    name = normal_host(host)
    if name in METADATA_HOSTS:
        return Refusal(name, METADATA).for_people()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return None
    found = refusal(host, addresses)
    return None if found is None else found.for_people()

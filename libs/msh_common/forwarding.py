"""Who the client is: the TCP peer, or what a trusted proxy in front of us says it is.

Anyone can write ``X-Forwarded-For``. A service believes it only when the peer is one of its
``TRUSTED_PROXIES`` (the gateway), and then reads it from the right (the newest hop), skipping
addresses that are themselves trusted proxies: the first other address is the client. Without
this, a client reaching a service's port directly could rotate the header and escape every
per-address throttle.

``TRUSTED_PROXIES`` is a comma-separated list of addresses, CIDRs and host names. A host name
(compose's ``gateway``) is resolved when first needed and again every ``resolve_seconds``, so a
proxy that starts later or is restarted with a new address is still recognised.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Container, Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Natively every service listens on 127.0.0.1 and only the gateway calls it from there.
DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (``[::1]`` and IPv4-mapped IPv6 allowed), or None."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


class TrustedProxies:
    """The peers whose forwarding headers are believed: networks and host names."""

    def __init__(self, entries: Iterable[str], resolve_seconds: float = 30.0) -> None:
        self._networks: list[IPNetwork] = []
        self._hosts: list[str] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self._hosts.append(entry)
        self._resolve_seconds = resolve_seconds
        self._resolved: frozenset[IPAddress] = frozenset()
        self._resolved_at = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> TrustedProxies:
        """From the setting: a comma-separated string or a list of entries."""
        if value is None:
            return cls(())
        return cls(value.split(",") if isinstance(value, str) else value)

    def __bool__(self) -> bool:
        return bool(self._networks or self._hosts)

    def __contains__(self, address: object) -> bool:
        ip = parse_address(address) if isinstance(address, str) else None
        if ip is None:
            return False
        return any(ip in network for network in self._networks) or ip in self._host_addresses()

    def _host_addresses(self) -> frozenset[IPAddress]:
        if not self._hosts:
            return frozenset()
        with self._lock:
            if time.monotonic() - self._resolved_at >= self._resolve_seconds:
                self._resolved = frozenset(_resolve(self._hosts))
                self._resolved_at = time.monotonic()
            return self._resolved


def _resolve(hosts: Iterable[str]) -> set[IPAddress]:
    """Every address of every host; a name that does not resolve (yet) adds none."""
    found: set[IPAddress] = set()
    for host in hosts:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            continue
        found.update(ip for info in infos if (ip := parse_address(str(info[4][0]))))
    return found


def client_address(
    peer: str | None, forwarded_for: str | Iterable[str] | None, trusted: Container[str]
) -> str | None:
    """The client's address: ``peer``, unless ``peer`` is a trusted proxy that forwarded one.

    ``forwarded_for`` is the ``X-Forwarded-For`` value (or its repeated values, in order);
    ``trusted`` answers ``address in trusted`` (a ``TrustedProxies``, or the gateway's cache).
    Garbage in the header stops the walk at the last address that could be trusted.
    """
    if not forwarded_for or peer is None or peer not in trusted:
        return peer
    values = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for)
    hops = [hop for value in values for hop in value.split(",")]
    client = peer
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break
        client = str(address)
        if client not in trusted:
            break
    return client

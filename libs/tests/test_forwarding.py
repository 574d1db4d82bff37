"""msh_common.forwarding: X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

import pytest

from msh_common.forwarding import TrustedProxies, client_address

GATEWAY = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("198.51.100.1", "203.0.113.5", "198.51.100.1"),  # untrusted peer: its claim is ignored
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # the gateway names the client
        ("127.0.0.1", None, "127.0.0.1"),  # nothing forwarded: the peer itself
        ("127.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # only the newest untrusted hop
        ("127.0.0.1", "203.0.113.5, 10.1.1.1", "203.0.113.5"),  # trusted hops are skipped
        ("127.0.0.1", ["6.6.6.6", "203.0.113.5"], "203.0.113.5"),  # repeated header lines
        ("127.0.0.1", "203.0.113.5, garbage", "127.0.0.1"),  # garbage stops the walk
        ("::ffff:127.0.0.1", "[2001:db8::1]", "2001:db8::1"),  # mapped peer, bracketed hop
    ],
)
def test_client_address(peer, forwarded_for, expected):
    assert client_address(peer, forwarded_for, GATEWAY) == expected


def test_nobody_is_trusted_when_the_list_is_empty():
    assert client_address("127.0.0.1", "203.0.113.5", TrustedProxies.parse("")) == "127.0.0.1"


def test_host_names_are_resolved():
    trusted = TrustedProxies.parse("localhost, no-such-host.invalid")
    assert "127.0.0.1" in trusted
    assert "198.51.100.1" not in trusted
    assert "not an address" not in trusted

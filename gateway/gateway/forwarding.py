"""Who the client is: the peer address, or what trusted proxies in front of us say it is.

A client can write anything into ``X-Forwarded-For``. It is believed only when the peer that
sent it is a configured trusted proxy (``TRUSTED_PROXIES``), and then only up to the first
address that is not itself a trusted proxy, walking from the right (the newest hop): that
address is the client (the platform's one rule, ``msh_common.forwarding.client_address``). The
gateway forwards exactly that one address upstream, where each service believes it because the
gateway is in the service's own ``TRUSTED_PROXIES``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from gateway.settings import Network
from msh_common.forwarding import client_address

_MAX_CACHED_PEERS = 4096


class ClientAddressResolver:
    """Resolves client address, scheme and host from the peer and its forwarding headers."""

    def __init__(self, trusted: Sequence[Network]) -> None:
        self._trusted = tuple(trusted)
        self._peer_trusted: dict[str, bool] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._trusted)

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and self.is_trusted(address)

    def is_trusted(self, address: str) -> bool:
        known = self._peer_trusted.get(address)
        if known is None:
            known = self._check(address)
            if len(self._peer_trusted) >= _MAX_CACHED_PEERS:
                self._peer_trusted.clear()
            self._peer_trusted[address] = known
        return known

    def _check(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def client(self, peer: str | None, forwarded_for: list[bytes]) -> str | None:
        """The client address: ``peer`` unless it is a trusted proxy that said otherwise."""
        if not self._trusted:
            return peer
        return client_address(peer, [value.decode("latin-1") for value in forwarded_for], self)

"""The gateway's client connections: :mod:`msh_common.http_protocol` with the edge's limits.

Served with ``uvicorn --http gateway.server:GatewayHttpProtocol`` (every launcher does). The
limits come from :class:`gateway.settings.Settings` (header caps, header timeout, the idle cap
per client address with ``TRUSTED_PROXIES`` exempt, lingering close), and a refusal carries the
edge's security headers like every other gateway answer.
"""

from __future__ import annotations

import functools

from gateway.forwarding import ClientAddressResolver
from gateway.response_headers import SECURITY_HEADERS
from gateway.settings import Settings
from msh_common.http_protocol import ConnectionLimits, GuardedHttpProtocol


def limits_from_settings(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        max_line_bytes=settings.gateway_max_header_line_bytes,
        max_head_bytes=settings.gateway_max_header_bytes,
        max_headers=settings.gateway_max_headers,
        header_timeout=settings.gateway_header_timeout_seconds,
        max_idle_per_client=settings.gateway_max_idle_connections_per_client,
        linger_seconds=settings.gateway_linger_seconds,
        linger_max_bytes=settings.gateway_linger_max_bytes,
        exempt_from_idle_cap=ClientAddressResolver(settings.trusted_proxies).is_trusted,
    )


@functools.cache
def connection_limits() -> ConnectionLimits:
    """Settings are env-only and fixed for the process: build them on the first connection."""
    return limits_from_settings(Settings())


class GatewayHttpProtocol(GuardedHttpProtocol):
    """The edge's protocol: the gateway's limits, its security headers on refusals."""

    refusal_headers = SECURITY_HEADERS

    @classmethod
    def connection_limits(cls) -> ConnectionLimits:
        return connection_limits()

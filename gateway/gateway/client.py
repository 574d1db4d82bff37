"""The aiohttp client of the gateway's own requests to upstreams: health probes, the JWKS,
OpenAPI documents. Proxied requests use the leaner client in upstream.py."""

from __future__ import annotations

import aiohttp

from gateway.settings import Settings

# aiohttp adds these when the caller did not; a proxy must not invent them. Accept-Encoding
# matters most: responses are relayed still compressed, so asking for gzip on behalf of a
# client that cannot decode it would break that client.
_NEVER_ADD = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

# Idle pooled connections are dropped after this long, before upstreams drop them (gunicorn
# keeps idle connections 2 s, uvicorn 5 s). Otherwise a request could be written to a
# connection the upstream is closing at that moment; aiohttp retries only idempotent ones,
# so a POST would fail with 502.
_KEEPALIVE_SECONDS = 1.5


class UpstreamClient:
    """Owns one aiohttp session for the app's lifetime (started and closed by the lifespan).

    One session means one connection pool, so upstream connections are reused across
    requests. Circuit breakers live in breaker.py, one per upstream.
    """

    def __init__(self, settings: Settings) -> None:
        self._max_connections = settings.upstream_max_connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("UpstreamClient used before start() (is the lifespan running?)")
        return self._session

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,
            limit_per_host=self._max_connections,
            keepalive_timeout=_KEEPALIVE_SECONDS,
            ttl_dns_cache=10,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Never store upstream cookies: they belong to the end user, not the gateway.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Relay bytes exactly as sent; Content-Encoding passes through untouched.
            auto_decompress=False,
            skip_auto_headers=_NEVER_ADD,
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

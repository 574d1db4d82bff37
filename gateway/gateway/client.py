"""The gateway's own GETs to upstreams: health probes, the JWKS, OpenAPI documents.

The same HTTP/1.1 client as proxied requests (upstream.py), one client in the gateway, but in
connection pools of their own: a probe never waits behind proxied traffic, nor takes its
connections. Redirects are not followed (every caller wants the document at that address).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gateway.upstream import (
    UpstreamBusy,
    UpstreamError,
    UpstreamPools,
    UpstreamResponse,
    UpstreamTimeout,
)

# A few connections per upstream are plenty: probes and document fetches are rare.
_POOL_LIMIT = 4
_POOL_WAIT_SECONDS = 1.0


class FetchError(Exception):
    """No answer: the upstream could not be reached, or broke off."""


@dataclass(frozen=True, slots=True)
class Fetched:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class UpstreamClient:
    """Owns the control plane's pools for the app's lifetime (closed by the lifespan)."""

    def __init__(self) -> None:
        self._pools = UpstreamPools(_POOL_LIMIT, wait_seconds=_POOL_WAIT_SECONDS, stream_limit=0)

    async def get(
        self, url: str, seconds: float, headers: Mapping[str, str] | None = None
    ) -> Fetched:
        """GET ``url`` within ``seconds`` in all; :class:`TimeoutError` when it took longer,
        :class:`FetchError` when there was no answer."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        pool = self._pools.pool(parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {target} HTTP/1.1".encode("latin-1"), b"host: " + pool.host_header]
        lines += [f"{name}: {value}".encode("latin-1") for name, value in (headers or {}).items()]
        try:
            async with asyncio.timeout(seconds):
                response = await pool.request(
                    b"\r\n".join(lines),
                    b"",
                    is_head=False,
                    connect_timeout=seconds,
                    read_timeout=seconds,
                )
                body = await _read_all(response)
        except UpstreamTimeout as exc:
            raise TimeoutError(str(exc)) from None
        except (UpstreamError, UpstreamBusy) as exc:
            raise FetchError(str(exc)) from None
        return Fetched(response.status, body)

    def close(self) -> None:
        self._pools.close()


async def _read_all(response: UpstreamResponse) -> bytes:
    chunks = []
    try:
        while chunk := await response.read_chunk():
            chunks.append(chunk)
    except BaseException:
        response.close()
        raise
    response.release()
    return b"".join(chunks)

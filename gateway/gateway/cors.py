"""CORS from an allow-list (``CORS_ALLOWED_ORIGINS``): the gateway answers preflights itself.

The browser app is served from the gateway's own origin and needs none of this; the list
is for other front ends (a partner's site, a local dev server on another port). Origins
are compared exactly (scheme, host and port). With an empty list the gateway adds no CORS
header at all and passes preflights to the services like any other request.
"""

from __future__ import annotations

from collections.abc import Iterable

_EXPOSED = b"X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
_MAX_AGE = b"600"


class CorsPolicy:
    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(origin.encode("latin-1") for origin in origins)

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allows(self, origin: bytes | None) -> bool:
        return origin is not None and origin in self.origins

    def preflight_headers(
        self, origin: bytes, methods: str, requested_headers: bytes | None
    ) -> list[tuple[bytes, bytes]]:
        """Headers of the 204 answer to an allowed origin's preflight."""
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", methods.encode("latin-1")),
            (b"access-control-max-age", _MAX_AGE),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
        if requested_headers:
            headers.append((b"access-control-allow-headers", requested_headers))
        return headers

    def response_headers(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        """Headers for an actual response (``Vary`` always: caches must key on Origin)."""
        if origin is None or origin not in self.origins:
            return [(b"vary", b"Origin")]
        return [
            (b"vary", b"Origin"),
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", _EXPOSED),
        ]


def strip_upstream_cors(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The gateway owns CORS when it is configured: a service's own answers are dropped."""
    return [(name, value) for name, value in headers if not name.startswith(b"access-control-")]

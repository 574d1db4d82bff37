"""Headers the gateway adds to every response, whoever produced it.

- ``X-Request-ID``, and the rate-limit headers of the request's class;
- security headers, each only when the response does not carry its own: a service that
  knows better keeps its value (the Django admin sets its own ``X-Frame-Options`` and
  ``Referrer-Policy``); ``Strict-Transport-Security`` on HTTPS requests;
- CORS headers for allowed origins (see cors.py).
"""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.cors import CorsPolicy, strip_upstream_cors
from gateway.headers import REQUEST_ID

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)
_SECURITY_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class ResponseHeaders:
    def __init__(self, cors: CorsPolicy) -> None:
        self.cors = cors

    def decorate(
        self, context: RequestContext, headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        """Add the edge's headers to an ASGI header list (lower-case names); returns it."""
        present = {name for name, _ in headers if name in _SECURITY_NAMES}
        if len(present) != len(SECURITY_HEADERS):
            headers.extend(item for item in SECURITY_HEADERS if item[0] not in present)
        if context.scheme == "https":
            headers.append(_HSTS)
        if self.cors.enabled:
            headers = strip_upstream_cors(headers)
            headers.extend(self.cors.response_headers(context.cors_origin))
        if context.extra_headers:
            headers.extend(context.extra_headers)
        headers.append((REQUEST_ID, context.request_id.encode("ascii")))
        return headers

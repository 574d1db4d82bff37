"""Which headers cross the gateway, in each direction.

Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, so they are dropped
both ways, along with every header the ``Connection`` header names. Headers the platform
trusts are owned by the gateway: whatever a client sends under those names is discarded and
replaced with what the gateway established itself, so services can rely on them:

- ``X-Forwarded-*``, ``Forwarded``, ``X-Real-IP``: the client address, host and scheme;
- ``X-Request-ID``, ``traceparent``, ``tracestate``: kept only when well-formed;
- every ``X-User-*``, ``X-Internal-*`` and ``X-Gateway-*`` header: the internal namespace.
  The gateway sets ``X-User-Id`` and ``X-User-Roles`` after verifying a token; services may
  log them but authorise on the token, which they verify themselves.

The request's headers are read in one pass (:func:`scan_request`), since this runs for
every request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

HOP_BY_HOP: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)

REQUEST_ID = b"x-request-id"
# Client headers in these namespaces never reach a service.
INTERNAL_PREFIXES: tuple[bytes, ...] = (b"x-user-", b"x-internal-", b"x-gateway-", b"x-forwarded-")

# Request headers never forwarded as received: hop-by-hop ones, those the gateway sets
# itself, and those the HTTP client derives from the body it sends (the body is always
# re-sent with a Content-Length, already fully received, so Expect is meaningless too).
_DROP_FROM_REQUEST = HOP_BY_HOP | {
    b"host",
    b"content-length",
    b"expect",
    b"forwarded",
    b"x-real-ip",
    REQUEST_ID,
    b"traceparent",
    b"tracestate",
}

# Response headers never passed back: the ASGI server adds its own Date and Server (two of
# each would be sent otherwise, as nginx avoids too), and the gateway sets X-Request-ID.
_DROP_FROM_RESPONSE = HOP_BY_HOP | {b"date", b"server", REQUEST_ID}

_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
# Connection options that name no header (the common case: nothing extra to drop).
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b""})


class RequestHead:
    """What the gateway needs from a request's headers, found in one pass.

    ``forward`` holds the end-to-end headers to send upstream, as received (bytes), the
    trusted-namespace and hop-by-hop ones already removed.
    """

    __slots__ = (
        "authorization",
        "chunked",
        "content_length",
        "cors_request_method",
        "forward",
        "forwarded_for",
        "forwarded_host",
        "forwarded_proto",
        "host",
        "origin",
        "request_id",
        "traceparent",
        "tracestate",
    )

    def __init__(self) -> None:
        self.forward: list[tuple[bytes, bytes]] = []
        self.authorization: bytes | None = None
        self.request_id: str | None = None
        self.traceparent: bytes | None = None
        self.tracestate: bytes | None = None
        self.host: bytes | None = None
        self.origin: bytes | None = None
        self.cors_request_method: bytes | None = None
        self.forwarded_for: list[bytes] = []
        self.forwarded_proto: bytes | None = None
        self.forwarded_host: bytes | None = None
        self.content_length: bytes | None = None
        self.chunked = False


def scan_request(headers: Iterable[tuple[bytes, bytes]]) -> RequestHead:
    """Sort a request's ASGI headers (names are lower case per the ASGI spec)."""
    head = RequestHead()
    forward = head.forward
    connection: list[bytes] | None = None
    for name, value in headers:
        if name not in _DROP_FROM_REQUEST:
            if name.startswith(b"x-"):
                if name.startswith(INTERNAL_PREFIXES):
                    if name == b"x-forwarded-for":
                        head.forwarded_for.append(value)
                    elif name == b"x-forwarded-proto":
                        head.forwarded_proto = value
                    elif name == b"x-forwarded-host":
                        head.forwarded_host = value
                    continue
            elif name == b"authorization":
                head.authorization = value
            elif name == b"origin":
                head.origin = value
            elif name == b"access-control-request-method":
                head.cors_request_method = value
            forward.append((name, value))
        elif name == b"host":
            if head.host is None:
                head.host = value
        elif name == b"content-length":
            if head.content_length is not None and head.content_length != value:
                head.content_length = b"invalid"
            else:
                head.content_length = value
        elif name == b"transfer-encoding":
            head.chunked = True
        elif name == REQUEST_ID:
            if head.request_id is None and _SANE_REQUEST_ID.fullmatch(value):
                head.request_id = value.decode("ascii")
        elif name == b"traceparent":
            head.traceparent = value
        elif name == b"tracestate":
            head.tracestate = value if head.tracestate is None else head.tracestate + b"," + value
        elif name == b"connection":
            connection = connection or []
            connection.extend(token.strip().lower() for token in value.split(b","))
    if connection and not _PLAIN_CONNECTION.issuperset(connection):
        named = set(connection)
        head.forward = [(name, value) for name, value in forward if name not in named]
    return head


def client_response_headers(
    raw_headers: Iterable[tuple[bytes, bytes]], status: int
) -> list[tuple[bytes, bytes]]:
    """Upstream response headers to pass to the client, as an ASGI header list.

    Repeated headers (Set-Cookie) are kept in order. Content-Length is kept when it still
    describes the bytes relayed (they are relayed unchanged), and dropped when it cannot:
    with Transfer-Encoding (invalid combination), and for 1xx/204/304, which have no body.
    """
    headers: list[tuple[bytes, bytes]] = []
    dropped: set[bytes] | None = None
    drop_length = status < 200 or status in (204, 304)
    for name, value in raw_headers:
        name = name.lower()
        if name in _DROP_FROM_RESPONSE:
            if name == b"connection":
                dropped = dropped or set()
                dropped.update(token.strip().lower() for token in value.split(b","))
            elif name == b"transfer-encoding":
                drop_length = True
            continue
        headers.append((name, value))
    if dropped and not _PLAIN_CONNECTION.issuperset(dropped):
        headers = [(name, value) for name, value in headers if name not in dropped]
    if drop_length:
        headers = [(name, value) for name, value in headers if name != b"content-length"]
    return headers

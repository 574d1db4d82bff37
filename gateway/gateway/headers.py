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
from collections.abc import Callable, Iterable

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
        "connection",
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
        self.connection: list[bytes] = []  # options of the Connection header(s), lower case


def _keep(attribute: str) -> Callable[[RequestHead, bytes], bool]:
    """A header the gateway reads and forwards as received."""

    def note(head: RequestHead, value: bytes) -> bool:
        setattr(head, attribute, value)
        return True

    return note


def _take(attribute: str) -> Callable[[RequestHead, bytes], bool]:
    """A header the gateway reads and does not forward (it sets its own, or none)."""

    def note(head: RequestHead, value: bytes) -> bool:
        setattr(head, attribute, value)
        return False

    return note


def _drop(head: RequestHead, value: bytes) -> bool:
    return False


def _host(head: RequestHead, value: bytes) -> bool:
    if head.host is None:
        head.host = value
    return False


def _content_length(head: RequestHead, value: bytes) -> bool:
    conflicting = head.content_length is not None and head.content_length != value
    head.content_length = b"invalid" if conflicting else value
    return False


def _transfer_encoding(head: RequestHead, value: bytes) -> bool:
    head.chunked = True
    return False


def _request_id(head: RequestHead, value: bytes) -> bool:
    if head.request_id is None and _SANE_REQUEST_ID.fullmatch(value):
        head.request_id = value.decode("ascii")
    return False


def _tracestate(head: RequestHead, value: bytes) -> bool:
    head.tracestate = value if head.tracestate is None else head.tracestate + b"," + value
    return False


def _forwarded_for(head: RequestHead, value: bytes) -> bool:
    head.forwarded_for.append(value)
    return False


def _connection(head: RequestHead, value: bytes) -> bool:
    head.connection.extend(token.strip().lower() for token in value.split(b","))
    return False


# What scan_request does with each header it does not simply forward: note it in the head,
# and answer whether it is forwarded. Every other header is forwarded unless its name is in
# a namespace only the gateway may set (INTERNAL_PREFIXES).
_NOTED: dict[bytes, Callable[[RequestHead, bytes], bool]] = {
    **dict.fromkeys(_DROP_FROM_REQUEST, _drop),
    b"authorization": _keep("authorization"),
    b"origin": _keep("origin"),
    b"access-control-request-method": _keep("cors_request_method"),
    b"host": _host,
    b"content-length": _content_length,
    b"transfer-encoding": _transfer_encoding,
    REQUEST_ID: _request_id,
    b"traceparent": _take("traceparent"),
    b"tracestate": _tracestate,
    b"connection": _connection,
    b"x-forwarded-for": _forwarded_for,
    b"x-forwarded-proto": _take("forwarded_proto"),
    b"x-forwarded-host": _take("forwarded_host"),
}


def scan_request(headers: Iterable[tuple[bytes, bytes]]) -> RequestHead:
    """Sort a request's ASGI headers (names are lower case per the ASGI spec), in one pass."""
    head = RequestHead()
    forward = head.forward
    noted = _NOTED.get
    for name, value in headers:
        note = noted(name)
        if note is not None:
            if note(head, value):
                forward.append((name, value))
        elif not (name.startswith(b"x-") and name.startswith(INTERNAL_PREFIXES)):
            forward.append((name, value))
    if head.connection and not _PLAIN_CONNECTION.issuperset(head.connection):
        named = set(head.connection)
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

"""Which headers cross the gateway, in each direction.

Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, so they are dropped
both ways, along with every header the ``Connection`` header names. Forwarding headers
are owned by the gateway: whatever a client sends is discarded and replaced with what the
gateway saw itself, so services can trust them.
"""

from __future__ import annotations

import re
import uuid
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
}
_FORWARDED_PREFIX = b"x-forwarded-"

# Response headers never passed back: the ASGI server adds its own Date and Server (two of
# each would be sent otherwise, as nginx avoids too), and the gateway sets X-Request-ID.
_DROP_FROM_RESPONSE = HOP_BY_HOP | {b"date", b"server", REQUEST_ID}

_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID if it is safe to log and forward, else a fresh uuid4 hex."""
    for name, value in headers:
        if name.lower() == REQUEST_ID:
            if _SANE_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


def connection_options(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Lower-cased header names listed in the Connection header(s)."""
    options: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            options.update(token.strip().lower() for token in value.split(b","))
    return options


def upstream_request_headers(
    headers: list[tuple[bytes, bytes]],
    *,
    client_host: str | None,
    scheme: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """Headers to send upstream for a client request with ASGI ``headers``.

    A list of pairs, not a dict, so repeated headers survive. Host is left out: the HTTP
    client sets the upstream's own host.
    """
    dropped = connection_options(headers)
    forwarded: list[tuple[str, str]] = []
    client_host_header: bytes | None = None
    for name, value in headers:
        name = name.lower()
        if name == b"host" and client_host_header is None:
            client_host_header = value
        if name in _DROP_FROM_REQUEST or name in dropped or name.startswith(_FORWARDED_PREFIX):
            continue
        forwarded.append((name.decode("latin-1"), _text(value)))
    if client_host_header is not None:
        forwarded.append(("x-forwarded-host", _text(client_host_header)))
    forwarded.append(("x-forwarded-proto", scheme))
    if client_host:
        forwarded.append(("x-forwarded-for", client_host))
    forwarded.append(("x-request-id", request_id))
    return forwarded


def _text(value: bytes) -> str:
    """Header bytes as the str the HTTP client (which encodes UTF-8) re-sends byte for byte."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")  # obsolete non-UTF-8 text: best effort


def client_response_headers(
    raw_headers: Iterable[tuple[bytes, bytes]], status: int
) -> list[tuple[bytes, bytes]]:
    """Upstream response headers to pass to the client, as an ASGI header list.

    Repeated headers (Set-Cookie) are kept in order. Content-Length is kept when it still
    describes the bytes relayed (they are relayed unchanged), and dropped when it cannot:
    with Transfer-Encoding (invalid combination), and for 1xx/204/304, which have no body.
    """
    lowered = [(name.lower(), value) for name, value in raw_headers]
    dropped = connection_options(lowered)
    if status < 200 or status in (204, 304) or any(n == b"transfer-encoding" for n, _ in lowered):
        dropped.add(b"content-length")
    return [
        (name, value)
        for name, value in lowered
        if name not in _DROP_FROM_RESPONSE and name not in dropped
    ]

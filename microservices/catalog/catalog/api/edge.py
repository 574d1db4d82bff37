"""Who the client is, with the platform's one rule (``msh_common.forwarding``).

Wrapped around the WSGI app: from a ``TRUSTED_PROXIES`` peer (the gateway), ``REMOTE_ADDR``
becomes the client it names in ``X-Forwarded-For`` and ``X-Forwarded-Proto`` sets the scheme;
from anyone else every ``X-Forwarded-*`` header is dropped before Flask sees the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from msh_common.forwarding import TrustedProxies, client_address

FORWARDED_ENVIRON = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO")

WSGIApp = Any  # (environ, start_response) -> iterable of bytes


def trusted_environ(environ: dict[str, Any], trusted: TrustedProxies) -> None:
    """Rewrite ``environ`` in place: the forwarded client, or no forwarding headers."""
    peer = environ.get("REMOTE_ADDR")
    if peer in trusted:
        environ["REMOTE_ADDR"] = client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"), trusted)
        if environ.get("HTTP_X_FORWARDED_PROTO") in ("http", "https"):
            environ["wsgi.url_scheme"] = environ["HTTP_X_FORWARDED_PROTO"]
        return
    for name in FORWARDED_ENVIRON:
        environ.pop(name, None)


class ForwardedHeaders:
    def __init__(self, app: WSGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        trusted_environ(environ, self.trusted)
        return self.app(environ, start_response)

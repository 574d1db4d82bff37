"""The outermost middleware: who the client is, and no caching of any answer.

uvicorn runs with ``--no-proxy-headers``; this decides instead, with the platform's one rule
(``msh_common.forwarding``): from a ``TRUSTED_PROXIES`` peer (the gateway), the client is the one
it names in ``X-Forwarded-For``; from anyone else every ``X-Forwarded-*`` header is dropped.

Every orders answer is a user's carts, orders or a staff report: ``Cache-Control: no-store``, so
no browser or shared cache keeps one.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Message, Receive, Scope, Send

from msh_common.forwarding import TrustedProxies, client_address

from .middleware import HttpMiddleware

NO_STORE = (b"cache-control", b"no-store")


def trusted_scope(scope: Scope, trusted: TrustedProxies) -> Scope:
    """``scope`` with the client a trusted peer forwarded, or without forwarding headers."""
    peer = scope.get("client")
    headers = scope.get("headers", [])
    if peer and peer[0] in trusted:
        forwarded = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
        client = client_address(peer[0], forwarded, trusted) or peer[0]
        return {**scope, "client": (client, peer[1] if client == peer[0] else 0)}
    kept = [(k, v) for k, v in headers if not k.startswith(b"x-forwarded-")]
    return {**scope, "headers": kept}


@dataclass(eq=False)
class EdgeMiddleware(HttpMiddleware):
    trusted: TrustedProxies

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"cache-control"]
                message = {**message, "headers": [*headers, NO_STORE]}
            await send(message)

        await self.app(trusted_scope(scope, self.trusted), receive, send_no_store)

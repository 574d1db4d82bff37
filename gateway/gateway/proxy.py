"""The reverse proxy: every request the gateway does not answer itself goes through here.

A raw ASGI app (installed as the router's fallback) rather than an endpoint, so nothing
parses or buffers what it does not need to: the request body is read once (it must be
re-sent with a Content-Length), the response is streamed chunk by chunk as it arrives.
"""

from __future__ import annotations

import asyncio
import logging
import re
from functools import lru_cache
from urllib.parse import unquote

import aiohttp
import anyio
from starlette.types import Receive, Scope, Send
from yarl import URL

from gateway.client import UpstreamClient
from gateway.context import get_context
from gateway.errors import GatewayError
from gateway.headers import client_response_headers, request_id_from, upstream_request_headers
from gateway.routing import Route, RouteTable

logger = logging.getLogger("gateway.proxy")

# "http://host:port" at the start of an absolute-form request target (RFC 9112 3.2.2).
_ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_SEGMENT_SEPARATORS = re.compile(r"[/\\]")
# Errors meaning "the upstream could not be reached or sent something unusable".
_UPSTREAM_ERRORS = (aiohttp.ClientError, OSError)
# Closing the connection after these keeps an unread (possibly huge) body from being drained.
_CLOSE = {"Connection": "close"}


class ClientDisconnected(Exception):
    """The client went away while its request body was being read."""


class ReverseProxy:
    """ASGI app forwarding requests to the upstream chosen by the route table."""

    def __init__(self, routes: RouteTable, client: UpstreamClient, max_body_bytes: int) -> None:
        self.routes = routes
        self.client = client
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # WebSockets are not proxied yet; closing before accepting makes the server send 403.
            await send({"type": "websocket.close", "code": 1008})
            return

        raw_path, path = request_target(scope)
        route = self.routes.match(path)
        if route is None:
            raise GatewayError(404, f"No route for {path}.")
        context = get_context(scope)
        if context is not None:
            context.upstream = route.upstream.name
        method = scope["method"]
        if method not in route.methods:
            raise GatewayError(
                405, f"Method {method} is not allowed here.", headers={"Allow": route.allow}
            )
        try:
            body = await read_body(scope["headers"], receive, self.max_body_bytes)
        except ClientDisconnected:
            return

        client = scope.get("client")
        headers = upstream_request_headers(
            scope["headers"],
            client_host=client[0] if client else None,
            scheme=scope["scheme"],
            request_id=context.request_id if context else request_id_from(scope["headers"]),
        )
        url = route.upstream.url_for(raw_path, scope["query_string"].decode("latin-1"))
        response = await self._request_upstream(route, method, url, headers, body)
        completed = False
        try:
            completed = await _relay(response, receive, send)
        finally:
            if completed:
                response.release()  # Body fully read: the connection goes back to the pool.
            else:
                response.close()

    async def _request_upstream(
        self,
        route: Route,
        method: str,
        url: URL,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> aiohttp.ClientResponse:
        """Send the request; return once the upstream's status and headers have arrived."""
        try:
            async with asyncio.timeout(route.timeout):
                return await self.client.session.request(
                    method,
                    url,
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                    timeout=_client_timeout(route.timeout),
                )
        except TimeoutError:
            logger.warning("upstream %s timed out after %gs", route.upstream.name, route.timeout)
            raise GatewayError(
                504, "The upstream service did not respond in time.", code="upstream_timeout"
            ) from None
        except _UPSTREAM_ERRORS as exc:
            logger.warning("upstream %s failed: %r", route.upstream.name, exc)
            raise GatewayError(
                502, "The upstream service is unavailable.", code="bad_gateway"
            ) from None


def request_target(scope: Scope) -> tuple[str, str]:
    """The request's ``(raw_path, path)``: percent-encoded as received, and decoded.

    Routing uses the decoded path (what upstream frameworks route on too) while the raw one
    is forwarded. An absolute-form target ("GET http://host/x") is reduced to its path: its
    authority never selects an upstream. Dot segments are refused rather than normalised,
    so the gateway and the upstream can never disagree about which route a path is under.
    """
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        path: str = scope["path"]
        raw_path = path
    elif raw.startswith(b"/"):
        path = scope["path"]
        raw_path = raw.decode("latin-1")
    else:
        match = _ABSOLUTE_FORM.match(raw)
        raw = raw[match.end() :] if match else b""
        if not raw.startswith(b"/"):
            raise GatewayError(400, "Unsupported request target.", headers=_CLOSE)
        raw_path = raw.decode("latin-1")
        path = unquote(raw_path)
    if "." in path and any(segment in (".", "..") for segment in _SEGMENT_SEPARATORS.split(path)):
        raise GatewayError(400, "Paths with '.' or '..' segments are not accepted.")
    return raw_path, path


async def read_body(headers: list[tuple[bytes, bytes]], receive: Receive, limit: int) -> bytes:
    """Read the whole request body, refusing more than ``limit`` bytes with 413.

    A declared Content-Length is checked before reading anything; a chunked body is
    counted as it arrives.
    """
    content_length: int | None = None
    chunked = False
    for name, value in headers:
        name = name.lower()
        if name == b"content-length":
            if not value.isdigit() or content_length not in (None, int(value)):
                raise GatewayError(400, "Invalid Content-Length header.", headers=_CLOSE)
            content_length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    if chunked and content_length is not None:
        # Request smuggling vector (RFC 9112 6.3): never guess which framing is meant.
        raise GatewayError(
            400, "Content-Length and Transfer-Encoding must not both be sent.", headers=_CLOSE
        )
    if content_length is not None and content_length > limit:
        raise GatewayError(413, _too_large(limit), headers=_CLOSE)
    if not chunked and not content_length:
        return b""

    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise GatewayError(413, _too_large(limit), headers=_CLOSE)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _relay(response: aiohttp.ClientResponse, receive: Receive, send: Send) -> bool:
    """Stream the upstream response to the client; True if it was relayed completely."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": client_response_headers(response.raw_headers, response.status),
        }
    )
    content = response.content
    if content.is_eof():
        # The whole body is already buffered (most API responses): nothing to wait for.
        return await _pump(content, send)

    # The body is still arriving (possibly an endless event stream): stop reading it as
    # soon as the client disconnects instead of at the upstream's next chunk.
    completed = False
    async with anyio.create_task_group() as task_group:

        async def cancel_on_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            task_group.cancel_scope.cancel()

        task_group.start_soon(cancel_on_disconnect)
        completed = await _pump(content, send)
        task_group.cancel_scope.cancel()
    return completed


async def _pump(content: aiohttp.StreamReader, send: Send) -> bool:
    """Forward body chunks as they arrive. False if the upstream broke off mid-body."""
    try:
        while True:
            chunk = await content.readany()
            done = not chunk or content.at_eof()
            await send({"type": "http.response.body", "body": chunk, "more_body": not done})
            if done:
                return True
    except (TimeoutError, *_UPSTREAM_ERRORS) as exc:
        # Headers are already sent, so no error response is possible: returning without
        # finishing the body makes the server abort the connection, which tells the
        # client the response is incomplete.
        logger.warning("upstream response broken off mid-body: %r", exc)
        return False


@lru_cache(maxsize=64)
def _client_timeout(seconds: float) -> aiohttp.ClientTimeout:
    # sock_read bounds each wait for upstream bytes: the response head, then every silence
    # between body chunks. The overall wait for the head is bounded in _request_upstream.
    return aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)


def _too_large(limit: int) -> str:
    return f"Request body is larger than the {limit} bytes allowed."

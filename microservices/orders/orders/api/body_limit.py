"""The request body's limits, enforced before FastAPI reads it (size, and JSON nesting)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from msh_common.jsonbody import JsonTooDeep, check_json_depth

from .errors import error_response
from .middleware import HttpMiddleware


class BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, "The request body is too large.")


def _is_json(headers: Headers) -> bool:
    """Whether FastAPI would parse the body as JSON (no content type counts, to be safe)."""
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def _read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The whole body, or None once it passes ``max_bytes``."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)  # the client left; the route will find out
        body += message.get("body", b"")
        if len(body) > max_bytes:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


@dataclass(eq=False)
class BodyLimitMiddleware(HttpMiddleware):
    """The request body's limits, before FastAPI reads it: 413 for a body over ``max_bytes``
    (at once when Content-Length says so), and 400 ``bad_request`` for a JSON body nested
    deeper than :mod:`msh_common.jsonbody` allows (FastAPI's own parser would recurse into it).
    A JSON body is read whole (it is small: at most ``max_bytes``), checked and passed on; any
    other body streams, and passing the limit mid-way answers 413 from the route."""

    max_bytes: int

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large(scope, receive, send)
            return
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE") and _is_json(headers):
            await self._checked_json(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    async def _checked_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive, self.max_bytes)
        if body is None:
            await _too_large(scope, receive, send)
            return
        try:
            check_json_depth(body)
        except JsonTooDeep as exc:
            await error_response(400, "bad_request", str(exc))(scope, receive, send)
            return
        except ValueError:
            message = "The request body is not valid JSON."
            await error_response(400, "bad_request", message)(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        return limited_receive


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(413, "payload_too_large", "The request body is too large.")
    await response(scope, receive, send)

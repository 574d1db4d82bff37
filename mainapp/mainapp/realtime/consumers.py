"""``/ws/notifications``: one socket per browser tab, authenticated like every API request.

A browser cannot set ``Authorization`` on a WebSocket, so the client offers two subprotocols,
``msh.bearer`` and its access token; the server selects ``msh.bearer`` (never echoing the token)
and verifies the token as the REST API does (signature, expiry, audience, revocation list).
Close codes: 4401 (no valid token, expired, revoked), 4403 (a token of another user), 1013
(tokens cannot be checked right now). A token about to expire is replaced by sending
``{"type": "auth", "token": ...}``; otherwise the socket closes with 4401 when it expires.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from msh_auth import InvalidToken as Revoked
from msh_auth import RevocationUnavailable

from . import messages
from .tokens import Refused, revocations, verify

logger = logging.getLogger(__name__)

SUBPROTOCOL = "msh.bearer"
UNAUTHORIZED, FORBIDDEN, TRY_AGAIN_LATER = 4401, 4403, 1013
# How often open sockets are checked against expiry and the revocation list.
WATCH_SECONDS = 1.0


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    claims: dict[str, Any]
    joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        if len(offered) != 2 or offered[0] != SUBPROTOCOL:
            await self.close()  # before accepting: the handshake is refused (403)
            return
        await self.accept(SUBPROTOCOL)
        code = self._authenticate(offered[1])
        if code is not None:
            await self.close(code=code)
            return
        self.joined = groups_for(self.claims)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        OPEN_SOCKETS.add(self)

    def _authenticate(self, token: str) -> int | None:
        """None when ``token`` is valid (kept in ``claims``), else the close code."""
        try:
            self.claims = verify(token)
        except Refused:
            return UNAUTHORIZED
        except RevocationUnavailable:
            return TRY_AGAIN_LATER
        return None

    async def disconnect(self, code: int) -> None:
        OPEN_SOCKETS.discard(self)
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """``{"type": "auth", "token": ...}`` renews the socket's token; nothing else is read."""
        if not isinstance(content, dict) or content.get("type") != "auth":
            return
        subject = self.claims.get("sub")
        code = self._authenticate(str(content.get("token", "")))
        if code is None and self.claims.get("sub") != subject:
            code = FORBIDDEN
        if code is not None:
            await self.close(code=code)

    async def forward(self, event: dict[str, Any]) -> None:
        """A group message (notify.py): sent as it is."""
        await self.send_json(event["message"])

    async def still_valid(self) -> bool:
        """Close the socket whose token expired or was revoked (telling it why first)."""
        if float(self.claims.get("exp", 0)) <= time.time():
            await self.close(code=UNAUTHORIZED)
            return False
        try:
            revocations().check(self.claims)
        except Revoked:
            await self.send_json(messages.session_revoked())
            await self.close(code=UNAUTHORIZED)
            return False
        except RevocationUnavailable:
            return True  # checked again in a second; the REST API refuses meanwhile
        return True


def groups_for(claims: dict[str, Any]) -> tuple[str, ...]:
    roles = claims.get("roles") or []
    staff = (messages.STAFF,) if "staff" in roles else ()
    return (messages.user_group(claims["sub"]), messages.EVERYONE, *staff)


class OpenSockets:
    """The sockets of this process, checked every second by one task (not one per socket)."""

    def __init__(self) -> None:
        self._sockets: set[NotificationsConsumer] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, socket: NotificationsConsumer) -> None:
        self._sockets.add(socket)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    def discard(self, socket: NotificationsConsumer) -> None:
        self._sockets.discard(socket)

    def __len__(self) -> int:
        return len(self._sockets)

    async def _watch(self) -> None:
        while self._sockets:
            await asyncio.sleep(WATCH_SECONDS)
            for socket in list(self._sockets):
                try:
                    if not await socket.still_valid():
                        self._sockets.discard(socket)
                except Exception:
                    logger.warning("socket check failed", exc_info=True)
                    self._sockets.discard(socket)


OPEN_SOCKETS = OpenSockets()

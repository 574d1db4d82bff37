"""WebSocket helpers for the tests that talk to the notifications socket."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


async def close_code(socket: ClientConnection, seconds: float = 20) -> int | None:
    """Read until the server closes the socket (within ``seconds``); the code it closed with."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None

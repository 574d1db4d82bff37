"""Live order status: one PostgreSQL LISTEN per process, fanned out to the streams it serves.

The ``orders_status_notify`` trigger NOTIFYs ``order_status`` on every change of status, inside
the transaction that made it; PostgreSQL delivers it when (and only if) that transaction
commits, whichever process committed it. So nothing is published "after commit" by hand that a
crash could lose, and no stream polls the database: each process keeps one connection that
listens, and hands every notification to the subscribers of that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg

from msh_common.aio import cancel_and_wait

logger = logging.getLogger(__name__)

CHANNEL = "order_status"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """``resync`` (no status): the listener reconnected; changes may have been missed."""

    order_id: str
    status: str | None = None
    version: int = 0

    @property
    def resync(self) -> bool:
        return self.status is None


def libpq_url(url: str) -> str:
    """A URL psycopg connects to directly (the SQLAlchemy dialect suffix removed)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql{sep}{rest}" if scheme.startswith(("postgres", "postgresql")) else url


class StatusListener:
    def __init__(self, database_url: str, *, reconnect_max_seconds: float = 5.0) -> None:
        self._url = libpq_url(database_url)
        self._reconnect_max = reconnect_max_seconds
        self._subscribers: dict[str, set[asyncio.Queue[StatusChange]]] = {}
        self._listening = asyncio.Event()
        self._listened_before = False
        self._task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(
        self, order_id: str, *, ready_timeout: float = 5.0
    ) -> AsyncIterator[asyncio.Queue[StatusChange]]:
        """Changes of ``order_id`` from the moment the block is entered (LISTEN is active by
        then, so a status read inside the block cannot miss a later change)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="order-status-listener")
        queue: asyncio.Queue[StatusChange] = asyncio.Queue(maxsize=8)
        self._subscribers.setdefault(order_id, set()).add(queue)
        try:
            await asyncio.wait_for(self._listening.wait(), ready_timeout)
            yield queue
        finally:
            subscribers = self._subscribers.get(order_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[order_id]

    def _deliver(self, change: StatusChange) -> None:
        for queue in list(self._subscribers.get(change.order_id, ())):
            _put_latest(queue, change)

    def _resync_all(self) -> None:
        for order_id, queues in list(self._subscribers.items()):
            for queue in list(queues):
                _put_latest(queue, StatusChange(order_id=order_id))

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    if self._listened_before:
                        self._resync_all()
                    self._listened_before = True
                    self._listening.set()
                    delay = 0.2
                    async for notify in connection.notifies():
                        self._on_notify(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("order status listener lost; reconnecting", exc_info=True)
            # Subscribers that arrive while we are down wait for the reconnection; those already
            # streaming get a resync once it is back.
            self._listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max)

    def _on_notify(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            change = StatusChange(
                order_id=str(data["order_id"]),
                status=str(data["status"]),
                version=int(data["version"]),
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("unreadable order status notification: %r", payload)
            return
        self._deliver(change)


def _put_latest(queue: asyncio.Queue[StatusChange], change: StatusChange) -> None:
    """Never block the listener on a slow stream: when its queue is full, replace what it
    holds with one resync (the stream reads the current status, which covers them all)."""
    try:
        queue.put_nowait(change)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(StatusChange(order_id=change.order_id))

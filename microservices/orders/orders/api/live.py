"""``GET /api/orders/{id}/events``: the order's status, live, as Server-Sent Events.

The stream sends the current status at once, then every change as PostgreSQL reports it (see
``store/live.py``: one LISTEN per process, no polling per client), a comment line every
ORDERS_SSE_HEARTBEAT_SECONDS so proxies keep the connection open, and ends when the saga has
an outcome (confirmed, rejected or cancelled) or after ORDERS_SSE_MAX_SECONDS (EventSource
reconnects by itself and gets the current status first).

    event: status
    id: 2
    data: {"order_id": "...", "status": "confirmed", "version": 2, "reasons": null, ...}
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from orders.domain.status import SETTLED
from orders.store import orders as order_store
from orders.store.db import Database
from orders.store.live import StatusListener

from .deps import CallerDep, DatabaseDep, ListenerDep, SettingsDep
from .errors import error_docs, not_found
from .orders import parse_order_id
from .schemas import OrderStatusEvent

router = APIRouter(prefix="/api/orders", tags=["orders"], responses=error_docs([401, 503]))
logger = logging.getLogger(__name__)

RECONNECT_MILLISECONDS = 2000


def snapshot(
    db: Database, order_id: uuid.UUID, owner: uuid.UUID | None = None
) -> dict[str, Any] | None:
    """The order's status as a stream event's data (None: no such order, or not the owner's)."""
    with db.transaction() as session:
        return order_store.status_of(session, order_id, owner=owner)


def sse(data: dict[str, Any], *, retry: int | None = None) -> bytes:
    lines = ["event: status", f"id: {data['version']}"]
    if retry is not None:
        lines.append(f"retry: {retry}")
    lines.append(f"data: {json.dumps(data, separators=(',', ':'))}")
    return ("\n".join(lines) + "\n\n").encode()


async def status_stream(
    db: Database,
    listener: StatusListener,
    order_id: uuid.UUID,
    *,
    heartbeat: float,
    max_seconds: float,
) -> AsyncIterator[bytes]:
    deadline = time.monotonic() + max_seconds
    try:
        async with listener.subscribe(str(order_id)) as changes:
            # Subscribed first, read second: a change committed in between is in the queue.
            current = await run_in_threadpool(snapshot, db, order_id)
            if current is None:
                return
            yield sse(current, retry=RECONNECT_MILLISECONDS)
            while current["status"] not in SETTLED:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    change = await asyncio.wait_for(changes.get(), min(heartbeat, remaining))
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                if not change.resync and change.version <= current["version"]:
                    continue  # already sent
                latest = await run_in_threadpool(snapshot, db, order_id)
                if latest is None:
                    return
                if latest["version"] > current["version"]:
                    current = latest
                    yield sse(current)
    except TimeoutError:
        logger.warning(
            "order status listener not ready; stream closed", extra={"order_id": str(order_id)}
        )


@router.get(
    "/{order_id}/events",
    summary="Live status of an order (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"$ref": OrderStatusEvent.ref()}}},
            "description": "Server-Sent Events. `event: status` (`id`: the order's version; "
            "`data`: an `OrderStatusEvent`, the schema given here) with the current status at "
            "once, then on every change; `: heartbeat` comments between; the stream ends once "
            "the order is confirmed, rejected or cancelled. `retry` asks for reconnection "
            "after 2 s; a reconnecting client gets the current status again.",
        },
        **error_docs([404]),
    },
)
async def stream_order_events(
    order_id: str,
    db: DatabaseDep,
    listener: ListenerDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """Follow an order until the saga decides it, without polling; see the 200 response for
    the events. The owner (or staff) only: another's order answers 404."""
    oid = parse_order_id(order_id)
    if await run_in_threadpool(snapshot, db, oid, caller.owner_filter) is None:
        raise not_found()
    return StreamingResponse(
        status_stream(
            db,
            listener,
            oid,
            heartbeat=settings.orders_sse_heartbeat_seconds,
            max_seconds=settings.orders_sse_max_seconds,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

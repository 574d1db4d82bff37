"""Sending to sockets from synchronous code (the Celery worker, the admin): the channel layer's
group_send, at most once (a socket that is not connected right now misses it; the client reads
the state over REST when it reconnects).

The sends run on one event loop per process, in a daemon thread, rather than through
``async_to_sync``: that makes a new loop per call, and channels_redis a new Redis connection per
loop, so every order confirmation paid for a connection (measured: about a tenth of the
worker's CPU per order in ``make bench-orders``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from functools import cache
from typing import Any

from channels.layers import get_channel_layer

from msh_events import Event

from . import messages

logger = logging.getLogger(__name__)

# The consumer method that forwards a group message to its socket (consumers.py).
FORWARD = "forward"
# How long a sender waits for Redis before it gives the notification up.
SEND_TIMEOUT_SECONDS = 5.0


@cache
def _loop() -> asyncio.AbstractEventLoop:
    """This process's notification loop, started on first use."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="notify-loop", daemon=True).start()
    return loop


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """Best effort: a failure is logged, never raised (the socket is not the record)."""
    layer = get_channel_layer()
    if layer is None:
        return
    sent = asyncio.run_coroutine_threadsafe(
        layer.group_send(group, {"type": FORWARD, "message": message}), _loop()
    )
    try:
        sent.result(SEND_TIMEOUT_SECONDS)
    except Exception:
        sent.cancel()
        logger.warning("notification not sent", exc_info=True, extra={"group": group})


def notify_order_status(event: Event, status: str) -> None:
    """``order.confirmed`` / ``order.rejected`` / ``order.cancelled``: tell the customer's
    sockets; an anonymised order (no ``user_id``) has no one to tell."""
    user_id = event.data.get("user_id")
    order_id = event.data.get("order_id")
    if not user_id or not order_id:
        return
    reason = event.data.get("reason")
    send_to_group(
        messages.user_group(user_id),
        messages.order_status(str(order_id), status, str(reason) if reason else None),
    )

"""Sending to sockets from synchronous code (the Celery worker, the admin): the channel layer's
group_send, at most once (a socket that is not connected right now misses it; the client reads
the state over REST when it reconnects)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from msh_events import Event

from . import messages

logger = logging.getLogger(__name__)

# The consumer method that forwards a group message to its socket (consumers.py).
FORWARD = "forward"


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """Best effort: a failure is logged, never raised (the socket is not the record)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": FORWARD, "message": message})
    except Exception:
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

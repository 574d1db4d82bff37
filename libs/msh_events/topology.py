"""Who produces and who consumes what: the event table of docs/architecture.md as data.

Each service owns one queue named after itself. A producer sends an event once to the queue of
every consumer listed here, so adding a consumer is a one-line change in one place. The AsyncAPI
document (:mod:`.asyncapi`) is made from these tables, and tests hold every service's producers
and handlers to them.
"""

from __future__ import annotations

# The one service that publishes each event type.
PRODUCERS: dict[str, str] = {
    "user.registered": "mainapp",
    "user.deleted": "mainapp",
    "order.placed": "orders",
    "stock.reserved": "catalog",
    "stock.rejected": "catalog",
    "order.confirmed": "orders",
    "order.rejected": "orders",
    "order.cancelled": "orders",
}

SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "user.registered": ("mainapp",),
    # catalog keeps no personal data, so it does not subscribe (issue: catalog service)
    "user.deleted": ("orders",),
    "order.placed": ("catalog",),
    "stock.reserved": ("orders",),
    "stock.rejected": ("orders",),
    "order.confirmed": ("mainapp",),
    # mainapp tells the customer's open sockets (mainapp.realtime)
    "order.rejected": ("mainapp",),
    "order.cancelled": ("catalog", "mainapp"),
}


def consumer_queues(event_type: str) -> tuple[str, ...]:
    """The queues an event of this type is delivered to (empty for an unknown type)."""
    return SUBSCRIPTIONS.get(event_type, ())

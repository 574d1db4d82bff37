"""The saga's safety net: ``order.placed`` written again for orders left pending too long."""

from __future__ import annotations

import logging

from .events import order_placed, publish
from .settings import Settings
from .store import orders as order_store
from .store.db import Database

logger = logging.getLogger(__name__)


def republish_stale_pending(db: Database, settings: Settings) -> int:
    """Write order.placed again (a new event, same data) for orders pending longer than
    ORDERS_PENDING_REPUBLISH_SECONDS since it last went out.

    For an order.placed lost on the way (a broker that lost data, a catalog that dead-lettered
    it) the catalog reserves now; for one it already handled, its reservation is keyed by order
    id, so it reserves nothing twice and answers again.
    """
    with db.transaction() as session:
        stale = order_store.claim_stale_pending(
            session,
            older_than_seconds=settings.orders_pending_republish_seconds,
            max_republish=settings.orders_pending_republish_max,
        )
        for order in stale:
            lines = [(line.product_id, line.quantity) for line in order.lines]
            publish(session, "order.placed", order_placed(order.id, lines))
            if order.republish_count + 1 >= settings.orders_pending_republish_max:
                logger.error(
                    "order still pending after %d re-publishes; the sweeper stops here",
                    order.republish_count + 1,
                    extra={"order_id": str(order.id)},
                )
        if stale:
            order_store.mark_republished(session, [order.id for order in stale])
    if stale:
        logger.warning("re-published order.placed", extra={"orders": len(stale)})
    return len(stale)

"""Getting events out: the outbox relay (right after commit, and on a sweep) and the sweeper
that re-publishes ``order.placed`` for orders left pending too long."""

from __future__ import annotations

import logging
import threading
import time

from msh_events import OutboxRelay, log_relay_failure
from msh_events.publisher import CeleryPublisher

from .events import order_placed, publish
from .settings import Settings
from .store import orders as order_store
from .store.db import Database
from .store.events import SqlOutboxStore

logger = logging.getLogger(__name__)


def make_relay(db: Database, publisher: CeleryPublisher) -> OutboxRelay:
    return OutboxRelay(SqlOutboxStore(db), publisher)


class BackgroundRelay:
    """Relays the outbox in a daemon thread each time it is kicked.

    Installed as ``Database.on_outbox_commit`` in the web and worker processes: a commit that
    wrote events wakes it, the request or handler does not wait for the broker, and kicks that
    arrive while it is publishing are served by one more pass. Anything it fails to send (broker
    down, process killed) stays in the outbox for the relay process's sweep.
    """

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        if self._stopped.is_set():
            return
        self._wake.set()
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="outbox-relay", daemon=True
                    )
                    self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopped.is_set():
                return
            self._wake.clear()
            try:
                self.relay.relay_pending()
            except Exception:
                log_relay_failure(logger, "immediate outbox relay failed; the sweep will retry")


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


def run_forever(
    db: Database, publisher: CeleryPublisher, settings: Settings, stop: threading.Event
) -> None:
    """The relay process: relay every OUTBOX_SWEEP_SECONDS, sweep pending orders every
    ORDERS_SWEEP_SECONDS. An outage is logged and retried on the next round."""
    relay = make_relay(db, publisher)
    next_sweep = time.monotonic()
    while not stop.is_set():
        try:
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + settings.orders_sweep_seconds
                republish_stale_pending(db, settings)
            count = relay.relay_pending()
            if count:
                logger.info("outbox relayed", extra={"published": count})
        except Exception:
            log_relay_failure(
                logger, "relay round failed; retrying in %ss", settings.outbox_sweep_seconds
            )
        stop.wait(settings.outbox_sweep_seconds)

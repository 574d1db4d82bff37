"""Getting events out: the outbox relay, right after commit (:class:`BackgroundRelay`) and on
a sweep (:func:`run_forever`, the relay process, which also runs the saga's
:func:`~orders.sweeper.republish_stale_pending`)."""

from __future__ import annotations

import logging
import threading
import time

from msh_events import OutboxRelay, log_relay_failure
from msh_events.publisher import CeleryPublisher

from .settings import Settings
from .store.db import Database
from .store.events import SqlOutboxStore
from .sweeper import republish_stale_pending

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

"""Running the outbox relay, the same way in every service.

- :class:`BackgroundRelay`: right after a commit, the events it wrote, in a daemon thread, so no
  request or handler ever waits for the broker (while Redis is down a request would otherwise
  wait out the publish retries).
- :func:`run_relay_process`: the periodic sweep for whatever the background relay could not send
  (broker down, process killed), plus any periodic chores a service adds (orders' pending-order
  sweeper), until stopped: in a thread of every worker (:mod:`.worker`), or as a process of its
  own (the ``relay`` command, until SIGINT or SIGTERM).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .envelope import Event
from .outbox import OutboxRelay, log_relay_failure

logger = logging.getLogger(__name__)


class BackgroundRelay:
    """Publishes committed events in a daemon thread.

    A commit that wrote events calls :meth:`kick` with them; events handed over while it is
    publishing go out in its next pass. Anything it fails to send stays in the outbox for the
    sweep.
    """

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._committed: deque[Event] = deque()

    def kick(self, events: Sequence[Event]) -> None:
        if self._stopped.is_set():
            return
        self._committed.extend(events)
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
                self._publish()
            except Exception:
                log_relay_failure(logger, "immediate outbox relay failed; the sweep will retry")

    def _publish(self) -> None:
        committed = [self._committed.popleft() for _ in range(len(self._committed))]
        if committed:
            self.relay.publish_committed(committed)


@dataclass(frozen=True, slots=True)
class Chore:
    """Something the sweep also does every ``every`` seconds."""

    name: str
    every: float
    run: Callable[[], object]


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (how compose and Kubernetes stop a process)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_relay_process(
    relay: OutboxRelay,
    interval: float,
    chores: Sequence[Chore] = (),
    stop: threading.Event | None = None,
) -> None:
    """Relay every ``interval`` seconds and run each chore when due, until ``stop`` is set
    (default: SIGINT or SIGTERM). An outage is logged and retried on the next round."""
    stop = stop or stop_on_signals()
    due = {chore.name: time.monotonic() for chore in chores}
    logger.info("outbox relay started", extra={"interval": interval})
    while not stop.is_set():
        try:
            for chore in chores:
                if time.monotonic() >= due[chore.name]:
                    due[chore.name] = time.monotonic() + chore.every
                    chore.run()
            count = relay.relay_pending()
            if count:
                logger.info("outbox relayed", extra={"published": count})
        except Exception:
            log_relay_failure(logger, "relay round failed; retrying in %ss", interval)
        stop.wait(interval)

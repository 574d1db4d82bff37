"""Running the outbox relay, the same way in every service.

- :class:`BackgroundRelay`: right after a commit, the events it wrote, in a daemon thread, so no
  request or handler ever waits for the broker (while Redis is down a request would otherwise
  wait out the publish retries); they are marked sent in batches.
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


# Published events are marked sent together, at most this long after the first of them or as
# soon as this many wait: one write per batch instead of one per commit (under load a write per
# event cost ~10% of a process's CPU). Well under outbox.SWEEP_MIN_AGE_SECONDS, so the sweep
# does not meet them unmarked.
MARK_DELAY_SECONDS = 0.2
MARK_BATCH = 200


class BackgroundRelay:
    """Publishes committed events in a daemon thread.

    A commit that wrote events calls :meth:`kick` with them; events handed over while it is
    publishing go out in its next pass. Published events are marked sent in batches
    (``MARK_DELAY_SECONDS``, ``MARK_BATCH``); :meth:`stop` marks what is left. Anything it fails
    to send, or to mark, stays pending for the sweep.
    """

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._committed: deque[Event] = deque()
        self._unmarked: list[str] = []  # published, not yet marked sent (the thread's own)
        self._unmarked_since = 0.0

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
            self._wake.wait(self._until_marking())
            stopping = self._stopped.is_set()
            self._wake.clear()
            if not stopping:
                try:
                    self._publish()
                except Exception:
                    log_relay_failure(logger, "immediate outbox relay failed; the sweep will retry")
            if stopping or self._marking_due():
                self._mark()
            if stopping:
                return

    def _publish(self) -> None:
        for _ in range(len(self._committed)):  # those here now; later ones in the next pass
            event = self._committed.popleft()
            try:
                self.relay.publish_committed(event)
            except BaseException:
                self._committed.clear()  # the sweep sends them, and this one
                raise
            if not self._unmarked:
                self._unmarked_since = time.monotonic()
            self._unmarked.append(event.id)

    def _until_marking(self) -> float | None:
        """How long the thread may sleep: until the waiting batch is due, or until kicked."""
        if not self._unmarked:
            return None
        return max(self._unmarked_since + MARK_DELAY_SECONDS - time.monotonic(), 0.0)

    def _marking_due(self) -> bool:
        return bool(self._unmarked) and (
            len(self._unmarked) >= MARK_BATCH
            or time.monotonic() - self._unmarked_since >= MARK_DELAY_SECONDS
        )

    def _mark(self) -> None:
        ids, self._unmarked = self._unmarked, []
        if not ids:
            return
        try:
            self.relay.mark_sent(ids)
        except Exception:
            log_relay_failure(logger, "marking events sent failed; the sweep will send them again")


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
            count = relay.sweep()
            if count:
                logger.info("outbox relayed", extra={"published": count})
        except Exception:
            log_relay_failure(logger, "relay round failed; retrying in %ss", interval)
        stop.wait(interval)

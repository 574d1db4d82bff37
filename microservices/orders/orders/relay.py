"""Getting events out: the outbox relay (msh_events.relay), right after commit
(``BackgroundRelay``) and in the relay process, which also runs the saga's pending-order
sweeper (:func:`~orders.sweeper.republish_stale_pending`)."""

from __future__ import annotations

import threading

from msh_events import OutboxRelay
from msh_events.publisher import CeleryPublisher
from msh_events.relay import Chore, run_relay_process

from .settings import Settings
from .store.db import Database
from .store.events import SqlOutboxStore
from .sweeper import republish_stale_pending


def make_relay(db: Database, publisher: CeleryPublisher) -> OutboxRelay:
    return OutboxRelay(SqlOutboxStore(db), publisher)


def run_forever(
    db: Database,
    publisher: CeleryPublisher,
    settings: Settings,
    stop: threading.Event | None = None,
) -> None:
    """The relay process: relay every OUTBOX_SWEEP_SECONDS, sweep pending orders every
    ORDERS_SWEEP_SECONDS, until SIGINT/SIGTERM (or ``stop``)."""
    sweep = Chore(
        "pending-order sweep",
        settings.orders_sweep_seconds,
        lambda: republish_stale_pending(db, settings),
    )
    run_relay_process(
        make_relay(db, publisher), settings.events.outbox_sweep_seconds, [sweep], stop
    )

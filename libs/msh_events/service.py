"""One service's events, wired the same way in every service.

A service states three things about itself (where its outbox and its dead letters live, and
which handlers consume which event types) and :class:`ServiceEvents` gives it the rest: the
Celery app on its own queue, the worker's event task, metrics and periodic outbox sweep, the
after-commit relay (never in a request's path), and the operators' ``relay`` and
``deadletters`` commands. Framework integrations build one from their settings
(:mod:`msh_events.contrib.django`); a service without one builds it in its ``events`` module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol, TextIO

from celery import Celery

from . import deadletters
from .celery_app import make_celery_app
from .config import EventsConfig
from .consumer import DeadLetterStore, IdempotentConsumer
from .envelope import Event
from .outbox import OutboxRelay, OutboxStore
from .publisher import CeleryPublisher
from .relay import BackgroundRelay, Chore, run_relay_process
from .tasks import register_event_task
from .worker import serve_metrics_when_ready, sweep_when_ready


class DeadLetterTable(DeadLetterStore, deadletters.DeadLetters, Protocol):
    """Where a worker puts what it gave up on, and where operators list and replay it."""


def _nothing() -> None:
    return None


@dataclass(kw_only=True)
class ServiceEvents:
    """Everything a service does with events, from what only it knows.

    ``name`` is the service's queue (``msh_events.topology``). The store factories are called
    where they are needed, after any fork (gunicorn, Celery's prefork pool).
    """

    name: str
    broker_url: str
    config: EventsConfig
    outbox: Callable[[], OutboxStore]
    dead_letters: Callable[[], DeadLetterTable]
    consumer: Callable[[], IdempotentConsumer]
    store_gauges: Callable[[], None] = _nothing
    chores: Callable[[], Sequence[Chore]] = field(default=tuple)

    @cached_property
    def app(self) -> Celery:
        """The service's Celery app: publishes from every process, consumes in the worker."""
        return make_celery_app(self.name, self.broker_url, self.config)

    def publisher(self) -> CeleryPublisher:
        return CeleryPublisher(self.app)

    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.outbox(), self.publisher())

    @cached_property
    def background_relay(self) -> BackgroundRelay:
        """This process's after-commit relay, in a thread of its own (made on first use)."""
        return BackgroundRelay(self.relay())

    def after_commit(self, events: Sequence[Event]) -> None:
        """Call once a transaction that wrote ``events`` has committed: they are published
        from a background thread."""
        self.background_relay.kick(events)

    def stop(self) -> None:
        """Stop this process's after-commit relay, if it ever started (a shutting-down app)."""
        if "background_relay" in self.__dict__:
            self.background_relay.stop()

    def worker(self) -> Celery:
        """The app with the event task registered, and, once the worker is up, metrics served
        and the outbox swept in a thread with the service's chores (what
        ``celery -A <service>.worker worker`` loads)."""
        register_event_task(
            self.app,
            consumer=self.consumer,
            dead_letters=self.dead_letters,
            policy=self.config.retry_policy(),
        )
        serve_metrics_when_ready(self.name, self.broker_url, self.store_gauges)
        sweep_when_ready(self.app, self.relay, self.config.outbox_sweep_seconds, self.chores)
        return self.app

    def run_relay(self, *, once: bool = False, out: TextIO | None = None) -> int:
        """``relay``: publish what is pending once, or be a relay process (the periodic sweep
        and the service's chores, metrics on METRICS_PORT) until SIGINT or SIGTERM. The worker
        sweeps already; a process of its own is for sweeping without consuming."""
        if once:
            (out or sys.stdout).write(f"published {self.relay().relay_pending()} event(s)\n")
            return 0
        from msh_common.metrics import start_metrics_server

        if start_metrics_server() is not None:  # METRICS_PORT set (compose), else nothing
            self.store_gauges()
        run_relay_process(self.relay(), self.config.outbox_sweep_seconds, self.chores())
        return 0

    def run_dead_letters(self, args: argparse.Namespace, out: TextIO | None = None) -> int:
        """``deadletters list|replay``: replays go back onto this service's own queue."""
        return deadletters.run(args, self.dead_letters(), self.publisher(), self.name, out)

    def add_commands(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add ``relay [--once]`` and ``deadletters list|replay`` to a command line; each sets
        ``run`` to a callable taking the parsed arguments and returning the exit status."""
        relay = commands.add_parser("relay", help="the outbox relay process (or one pass)")
        relay.add_argument("--once", action="store_true", help="relay what is pending and exit")
        relay.set_defaults(run=lambda args: self.run_relay(once=args.once))
        dead = commands.add_parser("deadletters", help="list or replay dead letters")
        deadletters.add_arguments(dead)
        dead.set_defaults(run=self.run_dead_letters)

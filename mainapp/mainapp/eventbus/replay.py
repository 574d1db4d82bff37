"""Replaying dead letters: each message goes back onto mainapp's own queue
(msh_events.deadletters, through :class:`~mainapp.eventbus.stores.DjangoDeadLetterStore`)."""

from __future__ import annotations

from collections.abc import Iterable

from msh_events.publisher import CeleryPublisher

from .models import DeadLetter
from .stores import DjangoDeadLetterStore

QUEUE = "mainapp"


def sender() -> CeleryPublisher:
    from mainapp.worker import app  # the worker module configures Celery for this service

    return CeleryPublisher(app)


def replay_dead_letters(dead_letters: Iterable[DeadLetter]) -> int:
    """Send each back to the queue, marked replayed (the admin's action)."""
    publish = sender()
    ids = [str(dead_letter.pk) for dead_letter in dead_letters]
    with DjangoDeadLetterStore().replaying(ids) as chosen:
        for dead in chosen:
            publish.send(dead.message, QUEUE)
    return len(chosen)

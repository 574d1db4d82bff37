"""Replaying dead letters: send each message back to this service's own queue."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from msh_events.publisher import CeleryPublisher

from .models import DeadLetter

QUEUE = "mainapp"


def replay_dead_letters(dead_letters: Iterable[DeadLetter]) -> int:
    from mainapp.worker import app

    publisher = CeleryPublisher(app)
    count = 0
    for dead_letter in dead_letters:
        publisher.send(dead_letter.message, QUEUE)
        dead_letter.replayed_at = timezone.now()
        dead_letter.save(update_fields=["replayed_at"])
        count += 1
    return count

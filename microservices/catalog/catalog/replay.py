"""Replaying dead letters: each message goes back onto the catalog's own queue."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import Celery

from catalog.settings import SERVICE
from catalog.store import Store
from msh_events.publisher import CeleryPublisher


def replay_dead_letters(store: Store, app: Celery, dead_letters: Iterable[dict[str, Any]]) -> int:
    publisher = CeleryPublisher(app)
    count = 0
    for dead_letter in dead_letters:
        publisher.send(store.dead_letters.message(dead_letter), SERVICE)
        store.dead_letters.mark_replayed(dead_letter["_id"])
        count += 1
    return count

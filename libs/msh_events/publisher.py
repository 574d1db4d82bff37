"""Sending an event to the queues of its consumers."""

from __future__ import annotations

from typing import Any

from celery import Celery

from .celery_app import EVENT_TASK_NAME
from .envelope import Event
from .topology import consumer_queues

# Fail fast when the broker is down: the event stays in the outbox and the sweep tries again.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}


class CeleryPublisher:
    """Publishes envelopes as messages of the consumers' event task, one per consumer queue."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def publish(self, event: Event) -> None:
        for queue in consumer_queues(event.type):
            self.send(event.to_dict(), queue)

    def send(self, message: Any, queue: str) -> None:
        """Send a raw envelope to one queue (publishing, and replaying a dead letter)."""
        self.app.send_task(
            EVENT_TASK_NAME,
            args=[message],
            argsrepr=_shown(message),
            kwargsrepr="{}",
            queue=queue,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )


def _shown(message: Any) -> str | None:
    """What logs and monitors show of a message's arguments: an envelope's type and id, instead
    of Celery's reprlib walk over the whole envelope on every send (measured with py-spy); None
    (Celery's own) for anything else, such as a replayed poison message."""
    if isinstance(message, dict):
        return f"[{message.get('type')!r}, {message.get('id')!r}]"
    return None

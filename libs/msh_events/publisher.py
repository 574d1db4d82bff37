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

    def send(self, message: dict[str, Any], queue: str) -> None:
        """Send a raw envelope to one queue (publishing, and replaying a dead letter)."""
        self.app.send_task(
            EVENT_TASK_NAME,
            args=[message],
            queue=queue,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )

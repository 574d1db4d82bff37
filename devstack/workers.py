"""A real Celery worker in the test process, for the services' event-bus tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FailingWorker:
    """A worker on a queue of its own whose ``bad.event`` handler always fails."""

    app: Any
    queue: str
    attempts: list[str] = field(default_factory=list)


@contextlib.contextmanager
def failing_worker(
    broker_url: str, processed_store: Callable[[], Any], dead_letters: Callable[[], Any]
) -> Iterator[FailingWorker]:
    """Retrying fast (two retries, 0.1-0.2 s apart), then dead-lettering into the service's
    own store: what a poison event meets in production."""
    from celery.contrib.testing.worker import start_worker

    from msh_events import Event
    from msh_events.celery_app import make_celery_app
    from msh_events.config import EventsConfig, RetryPolicy
    from msh_events.consumer import IdempotentConsumer
    from msh_events.tasks import register_event_task

    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = FailingWorker(
        make_celery_app(queue, broker_url, EventsConfig(visibility_timeout=30)), queue
    )

    def always_fails(event: Event) -> None:
        worker.attempts.append(event.id)
        raise ValueError("poison")

    register_event_task(
        worker.app,
        consumer=lambda: IdempotentConsumer(processed_store(), {"bad.event": always_fails}),
        dead_letters=dead_letters,
        policy=RetryPolicy(max_retries=2, backoff_base=0.1, backoff_max=0.2),
    )
    with start_worker(worker.app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield worker

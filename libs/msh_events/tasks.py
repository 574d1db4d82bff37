"""The Celery task through which a service consumes its queue.

Transient failures are retried with exponential backoff; after the last try, or at once for a
message that is not an envelope, the message goes to the service's dead-letter store so that one
poison message never blocks the queue.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from celery import Celery, Task

from msh_common.metrics import EVENTS_HANDLED
from msh_common.tracing import consumer_span

from .celery_app import EVENT_TASK_NAME
from .config import RetryPolicy
from .consumer import DeadLetterStore, IdempotentConsumer
from .envelope import Event, InvalidEnvelope

logger = logging.getLogger(__name__)


class PermanentError(Exception):
    """Retrying cannot help (the event breaks its contract): dead-letter the message at once."""


def register_event_task(
    app: Celery,
    consumer: Callable[[], IdempotentConsumer],
    dead_letters: Callable[[], DeadLetterStore],
    policy: RetryPolicy | None = None,
) -> Task:
    """Register the service's event handler task on ``app`` and return it."""
    policy = policy or RetryPolicy()

    # shared=False: each service (and test) app keeps its own handler under the common name.
    @app.task(  # type: ignore[untyped-decorator]  # Celery is untyped
        name=EVENT_TASK_NAME, bind=True, max_retries=policy.max_retries, shared=False
    )
    def handle_event(self: Task, message: Any) -> str:
        attempts = self.request.retries + 1
        try:
            event = Event.from_dict(message)
        except InvalidEnvelope as exc:
            logger.error("invalid envelope dead-lettered", extra={"error": str(exc)})
            dead_letters().add(message, f"InvalidEnvelope: {exc}", attempts)
            EVENTS_HANDLED.labels(app.main, "invalid", "dead_lettered").inc()
            return "dead-lettered"
        if policy.handler_delay:
            time.sleep(policy.handler_delay)
        try:
            with consumer_span(app.main, event):
                outcome = consumer().handle(event)
        except PermanentError as exc:
            logger.error("event dead-lettered: %s", exc, extra={"event_id": event.id})
            dead_letters().add(message, "".join(traceback.format_exception(exc)), attempts)
            EVENTS_HANDLED.labels(app.main, event.type, "dead_lettered").inc()
            return "dead-lettered"
        except Exception as exc:
            if self.request.retries < policy.max_retries:
                countdown = policy.countdown(self.request.retries)
                logger.warning(
                    "event handler failed; retrying",
                    extra={"event_id": event.id, "attempt": attempts, "countdown": countdown},
                )
                EVENTS_HANDLED.labels(app.main, event.type, "retried").inc()
                raise self.retry(exc=exc, countdown=countdown) from exc
            logger.exception("event dead-lettered after %d attempts", attempts)
            dead_letters().add(message, "".join(traceback.format_exception(exc)), attempts)
            EVENTS_HANDLED.labels(app.main, event.type, "dead_lettered").inc()
            return "dead-lettered"
        logger.info(
            "event consumed",
            extra={"event_id": event.id, "event_type": event.type, "outcome": str(outcome)},
        )
        EVENTS_HANDLED.labels(app.main, event.type, str(outcome)).inc()
        return str(outcome)

    return handle_event

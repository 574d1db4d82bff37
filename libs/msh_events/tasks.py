"""The Celery task through which a service consumes its queue.

Transient failures are retried with exponential backoff; after the last try, or at once for a
message that is not an envelope or whose data breaks the event contract (:mod:`.contract`), the
message goes to the service's dead-letter store so that one poison message never blocks the
queue.
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
from .contract import check
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

    def dead_letter(message: Any, error: str, attempts: int, event_type: str) -> str:
        dead_letters().add(storable(message), error, attempts)
        EVENTS_HANDLED.labels(app.main, event_type, "dead_lettered").inc()
        return "dead-lettered"

    # shared=False: each service (and test) app keeps its own handler under the common name.
    @app.task(  # type: ignore[untyped-decorator]  # Celery is untyped
        name=EVENT_TASK_NAME, bind=True, max_retries=policy.max_retries, shared=False
    )
    def handle_event(self: Task, message: Any) -> str:
        attempts = self.request.retries + 1
        try:
            event = Event.from_dict(message)
            check(event)
        except InvalidEnvelope as exc:
            logger.error("invalid envelope dead-lettered", extra={"error": str(exc)})
            return dead_letter(message, f"InvalidEnvelope: {exc}", attempts, "invalid")
        if policy.handler_delay:
            time.sleep(policy.handler_delay)
        try:
            with consumer_span(app.main, event):
                outcome = consumer().handle(event)
        except (PermanentError, InvalidEnvelope) as exc:
            logger.error("event dead-lettered: %s", exc, extra={"event_id": event.id})
            return dead_letter(message, _traceback(exc), attempts, event.type)
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
            return dead_letter(message, _traceback(exc), attempts, event.type)
        logger.info(
            "event consumed",
            extra={"event_id": event.id, "event_type": event.type, "outcome": str(outcome)},
        )
        EVENTS_HANDLED.labels(app.main, event.type, str(outcome)).inc()
        return str(outcome)

    return handle_event


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def storable(message: Any) -> Any:
    """``message`` with every NUL character in its strings (keys too) replaced by U+FFFD.

    PostgreSQL's JSON types cannot hold U+0000, so a poison message carrying one could not be
    dead-lettered at all; everything else is kept as it came.
    """
    if isinstance(message, str):
        return message.replace("\x00", "\ufffd")
    if isinstance(message, dict):
        return {storable(key): storable(value) for key, value in message.items()}
    if isinstance(message, list):
        return [storable(item) for item in message]
    return message

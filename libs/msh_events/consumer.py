"""Idempotent consumption and dead letters, independent of the consumer's store.

At-least-once delivery means any event can arrive twice. A consumer records the event id in its
own store in the same transaction as the effect of the event, and skips an id it has recorded:
the effect happens exactly once even though delivery does not.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from .envelope import Event

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]


class Outcome(enum.StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class ProcessedEventStore(Protocol):
    """Where a consumer remembers the events it has applied."""

    def first_time(self, event: Event) -> AbstractContextManager[bool]:
        """Open a transaction and record ``event.id`` in it.

        Yields True when the id is new: the caller applies the effect inside the block and both
        commit together. Yields False when it was already recorded. If the block raises, nothing
        is recorded and the event can be handled again.
        """
        ...


class RecordNothing:
    """The :class:`ProcessedEventStore` of a consumer whose handlers are idempotent by their own
    documents (the catalog: one decision per order): every delivery reaches the handler, which
    finds its earlier effect. Recording ids as well would cost a read and a write per event to
    save the work of a rare redelivery."""

    @contextmanager
    def first_time(self, event: Event) -> Iterator[bool]:
        yield True


class DeadLetterStore(Protocol):
    """Where a consumer parks messages it gave up on, for operators to list and replay."""

    def add(self, message: Any, error: str, attempts: int) -> None: ...


class IdempotentConsumer:
    """Dispatches events to handlers by type, applying each event at most once."""

    def __init__(self, store: ProcessedEventStore, handlers: Mapping[str, Handler]) -> None:
        self.store = store
        self.handlers = dict(handlers)

    def handle(self, event: Event) -> Outcome:
        handler = self.handlers.get(event.type)
        if handler is None:
            logger.warning("no handler for event type", extra={"event_type": event.type})
            return Outcome.IGNORED
        with self.store.first_time(event) as first:
            if not first:
                logger.info("duplicate event skipped", extra={"event_id": event.id})
                return Outcome.DUPLICATE
            handler(event)
        return Outcome.HANDLED

"""PostgreSQL implementations of the msh_events store protocols, on SQLAlchemy.

The same three tables as mainapp's eventbus: ``outbox_events`` (claimed with ``FOR UPDATE SKIP
LOCKED`` so concurrent relays never collide), ``processed_events`` (the id inserted first, in
the handler's transaction) and ``dead_letters``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from msh_events import Event
from msh_events.deadletters import DeadLetter as OperatorView

from .db import Database, on_commit
from .models import DeadLetter, OutboxEvent, ProcessedEvent, table_of

_handler_session: ContextVar[Session | None] = ContextVar("orders_handler_session", default=None)


# Built once: both run once per event on the saga's path (see store.orders on why Core).
_INSERT_OUTBOX = insert(table_of(OutboxEvent))
_PROCESSED = table_of(ProcessedEvent)
_RECORD_PROCESSED = (
    insert(_PROCESSED)
    .on_conflict_do_nothing(index_elements=[_PROCESSED.c.event_id])
    .returning(_PROCESSED.c.event_id)
)


def add_to_outbox(session: Session, event: Event) -> None:
    """Write ``event`` in the session's transaction; the database's relay hook runs after
    commit (the periodic sweep sends it anyway if that fails)."""
    session.execute(
        _INSERT_OUTBOX,
        {"id": uuid.UUID(event.id), "type": event.type, "envelope": event.to_dict()},
    )
    database = session.info.get("database")
    if database is not None and database.on_outbox_commit is not None:
        relay = database.on_outbox_commit
        on_commit(session, lambda: relay([event]))


def _mark_sent(session: Session, ids: Sequence[uuid.UUID]) -> None:
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(ids), OutboxEvent.sent_at.is_(None))
        .values(sent_at=func.now())
    )


class SqlOutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def claim(self, limit: int, *, min_age_seconds: float = 0.0) -> Iterator[Sequence[Event]]:
        pending = select(OutboxEvent).where(OutboxEvent.sent_at.is_(None))
        if min_age_seconds:
            settled = func.now() - timedelta(seconds=min_age_seconds)
            pending = pending.where(OutboxEvent.created_at <= settled)
        with self.db.transaction() as session:
            rows = session.scalars(
                pending.order_by(OutboxEvent.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            yield [Event.from_dict(row.envelope) for row in rows]
            if rows:
                _mark_sent(session, [row.id for row in rows])

    def mark_sent(self, ids: Sequence[str]) -> None:
        with self.db.transaction() as session:
            _mark_sent(session, [uuid.UUID(id_) for id_ in ids])

    def backlog(self) -> int:
        with self.db.transaction() as session:
            return session.scalar(  # type: ignore[return-value]  # count(*) is never NULL
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None))
            )


class SqlProcessedEventStore:
    """Inserts the event id first: a concurrent duplicate waits on the key, then is skipped."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def first_time(self, event: Event) -> Iterator[bool]:
        with self.db.transaction() as session:
            inserted = session.execute(
                _RECORD_PROCESSED, {"event_id": uuid.UUID(event.id), "type": event.type}
            ).first()
            if inserted is None:
                yield False
                return
            token = _handler_session.set(session)
            try:
                yield True
            finally:
                _handler_session.reset(token)


def handler_session() -> Session:
    """The transaction an event handler runs in (the one that records the event id)."""
    session = _handler_session.get()
    if session is None:
        raise RuntimeError("event handlers run inside SqlProcessedEventStore.first_time()")
    return session


class SqlDeadLetterStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, message: Any, error: str, attempts: int) -> None:
        is_dict = isinstance(message, dict)
        with self.db.transaction() as session:
            session.add(
                DeadLetter(
                    message=message,
                    event_id=str(message.get("id", "") if is_dict else "")[:64],
                    type=str(message.get("type", "") if is_dict else "")[:100],
                    error=error,
                    attempts=attempts,
                )
            )

    def pending(self, include_replayed: bool = False) -> list[DeadLetter]:
        with self.db.transaction() as session:
            query = select(DeadLetter).order_by(DeadLetter.created_at.desc())
            if not include_replayed:
                query = query.where(DeadLetter.replayed_at.is_(None))
            return list(session.scalars(query).all())

    def listed(self, *, include_replayed: bool) -> list[OperatorView]:
        return [OperatorView.from_row(row) for row in self.pending(include_replayed)]

    @contextmanager
    def replaying(self, ids: Sequence[str] | None) -> Iterator[list[OperatorView]]:
        """Dead letters to replay (``ids``, or every pending one when None), locked; marked
        replayed when the block exits cleanly (msh_events.deadletters)."""
        with self.db.transaction() as session:
            query = select(DeadLetter).order_by(DeadLetter.id).with_for_update(skip_locked=True)
            if ids is None:
                query = query.where(DeadLetter.replayed_at.is_(None))
            else:
                query = query.where(DeadLetter.id.in_([int(i) for i in ids if i.isdigit()]))
            rows = list(session.scalars(query).all())
            yield [OperatorView.from_row(row) for row in rows]
            for row in rows:
                row.replayed_at = func.now()

"""PostgreSQL implementations of the msh_events store protocols, on the Django ORM."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from msh_events import Event
from msh_events.deadletters import DeadLetter as OperatorView

from .models import DeadLetter, OutboxEvent, ProcessedEvent


def fresh_connection() -> None:
    """Work outside any request (a relay's round, a worker's task) treats this thread's database
    connection as a request would: closed if broken or older than ``CONN_MAX_AGE``, checked
    before reuse with ``CONN_HEALTH_CHECKS``, so a PostgreSQL restart costs one round or task,
    not every one after it. Inside a transaction it leaves the connection alone."""
    if not connection.in_atomic_block:
        close_old_connections()


def _mark_sent(ids: Sequence[object]) -> None:
    OutboxEvent.objects.filter(pk__in=ids, sent_at__isnull=True).update(sent_at=timezone.now())


class DjangoOutboxStore:
    """Claims pending rows with ``FOR UPDATE SKIP LOCKED`` so concurrent relays never collide."""

    @contextmanager
    def claim(self, limit: int, *, min_age_seconds: float = 0.0) -> Iterator[Sequence[Event]]:
        fresh_connection()
        pending = OutboxEvent.objects.filter(sent_at__isnull=True)
        if min_age_seconds:
            pending = pending.filter(
                created_at__lte=timezone.now() - timedelta(seconds=min_age_seconds)
            )
        with transaction.atomic():
            rows = list(pending.select_for_update(skip_locked=True).order_by("created_at")[:limit])
            yield [row.to_event() for row in rows]
            if rows:
                _mark_sent([row.pk for row in rows])

    def mark_sent(self, ids: Sequence[str]) -> None:
        fresh_connection()
        _mark_sent(ids)

    def backlog(self) -> int:
        return int(OutboxEvent.objects.filter(sent_at__isnull=True).count())


PROCESSED_COLUMNS = ("event_id", "type", "handled_at")


def _record_processed(event: Event) -> bool:
    """Insert the event's id unless it is there; True if this call inserted it.

    ``ON CONFLICT DO NOTHING`` (as orders' SQLAlchemy store does) rather than the ORM's insert
    in a savepoint: a concurrent duplicate still waits on the key and then inserts nothing, and
    each event saves the savepoint's two round trips. The ORM has no insert that says whether a
    conflict skipped it, hence the one statement of SQL.
    """
    with connection.cursor() as cursor:
        cursor.execute(_insert_processed_sql(), [uuid.UUID(event.id), event.type, timezone.now()])
        return bool(cursor.rowcount == 1)


@functools.cache
def _insert_processed_sql() -> str:
    meta = ProcessedEvent._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in PROCESSED_COLUMNS)
    # Only the model's own table and column names are formatted in; the values are parameters.
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES (%s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({quote(meta.pk.column)}) DO NOTHING"
    )


class DjangoProcessedEventStore:
    """Inserts the event id first: a concurrent duplicate waits on the key, then is skipped."""

    @contextmanager
    def first_time(self, event: Event) -> Iterator[bool]:
        with transaction.atomic():
            yield _record_processed(event)


class DjangoDeadLetterStore:
    def add(self, message: Any, error: str, attempts: int) -> None:
        event_id = message.get("id", "") if isinstance(message, dict) else ""
        event_type = message.get("type", "") if isinstance(message, dict) else ""
        DeadLetter.objects.create(
            message=message,
            event_id=str(event_id)[:64],
            type=str(event_type)[:100],
            error=error,
            attempts=attempts,
        )

    # What operators see and do (msh_events.deadletters).

    def listed(self, *, include_replayed: bool) -> list[OperatorView]:
        rows = DeadLetter.objects.all()
        if not include_replayed:
            rows = rows.filter(replayed_at__isnull=True)
        return [OperatorView.from_row(row) for row in rows]

    @contextmanager
    def replaying(self, ids: Sequence[str] | None) -> Iterator[list[OperatorView]]:
        with transaction.atomic():
            rows = DeadLetter.objects.select_for_update(skip_locked=True).order_by("pk")
            if ids is None:
                rows = rows.filter(replayed_at__isnull=True)
            else:
                rows = rows.filter(pk__in=[int(i) for i in ids if str(i).isdigit()])
            chosen = list(rows)
            yield [OperatorView.from_row(row) for row in chosen]
            DeadLetter.objects.filter(pk__in=[row.pk for row in chosen]).update(
                replayed_at=timezone.now()
            )

"""Tables that make events reliable: written in the same transaction as the state they describe."""

from __future__ import annotations

import uuid

from django.db import models

from msh_events import Event


class OutboxEvent(models.Model):
    """An event committed with the change that caused it, waiting for the relay."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=100)
    envelope = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_pending_idx",
                condition=models.Q(sent_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    def to_event(self) -> Event:
        return Event.from_dict(self.envelope)


class ProcessedEvent(models.Model):
    """An event id this service has applied; the primary key makes a second apply impossible."""

    event_id = models.UUIDField(primary_key=True)
    type = models.CharField(max_length=100)
    handled_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class DeadLetter(models.Model):
    """A message the worker gave up on: kept whole so an operator can fix the cause and replay."""

    message = models.JSONField()
    event_id = models.CharField(max_length=64, blank=True, db_index=True)
    type = models.CharField(max_length=100, blank=True)
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type or 'invalid'} {self.event_id} ({self.attempts} attempts)"

"""Operators list and replay dead letters, and watch the outbox, from the Django admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from msh_events import deadletters

from .models import DeadLetter, OutboxEvent, ProcessedEvent
from .service import service_events
from .stores import DjangoDeadLetterStore


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("created_at", "type", "event_id", "attempts", "replayed_at")
    list_filter = ("type", ("replayed_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "type", "error")
    readonly_fields = (
        "message",
        "event_id",
        "type",
        "error",
        "attempts",
        "created_at",
        "replayed_at",
    )
    actions = ["replay"]

    @admin.action(description="Replay selected dead letters")  # type: ignore[untyped-decorator]
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        """Each selected one goes back onto this service's own queue, marked replayed."""
        events = service_events()
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        count = deadletters.replay(DjangoDeadLetterStore(), events.publisher(), events.name, ids)
        self.message_user(request, f"Replayed {count} message(s).", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "type", "id", "sent_at")
    list_filter = ("type", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("id", "type")
    readonly_fields = ("id", "type", "envelope", "created_at", "sent_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(admin.ModelAdmin):
    list_display = ("handled_at", "type", "event_id")
    list_filter = ("type",)
    search_fields = ("event_id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

"""Operators list and replay dead letters, and watch the outbox, from the Django admin."""

from __future__ import annotations

from django.contrib import admin, messages

from .models import DeadLetter, OutboxEvent, ProcessedEvent
from .replay import replay_dead_letters


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

    @admin.action(description="Replay selected dead letters")
    def replay(self, request, queryset) -> None:
        count = replay_dead_letters(queryset)
        self.message_user(request, f"Replayed {count} message(s).", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "type", "id", "sent_at")
    list_filter = ("type", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("id", "type")
    readonly_fields = ("id", "type", "envelope", "created_at", "sent_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(admin.ModelAdmin):
    list_display = ("handled_at", "type", "event_id")
    list_filter = ("type",)
    search_fields = ("event_id",)

    def has_add_permission(self, request) -> bool:
        return False

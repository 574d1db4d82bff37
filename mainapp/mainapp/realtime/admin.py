"""Staff write an announcement in the admin; saving it sends it (once) to the open sockets."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from . import messages
from .models import Announcement
from .notify import send_to_group


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ("text", "audience", "sent_at", "sent_by")
    fields = ("text", "audience")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # sent is sent: a changed text would reach no one

    def save_model(self, request: HttpRequest, obj: Announcement, form: Any, change: bool) -> None:
        obj.sent_by = request.user if request.user.is_authenticated else None
        super().save_model(request, obj, form, change)
        message = messages.announcement(obj.text, obj.audience, obj.sent_at.isoformat())
        group = messages.STAFF if obj.audience == Announcement.Audience.STAFF else messages.EVERYONE
        transaction.on_commit(lambda: send_to_group(group, message))

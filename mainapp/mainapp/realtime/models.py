"""Announcements: staff broadcast a message from the Django admin to every open socket."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Announcement(models.Model):
    class Audience(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        STAFF = "staff", "Staff only"

    text = models.CharField(max_length=500)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.EVERYONE)
    sent_at = models.DateTimeField(auto_now_add=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-sent_at",)

    def __str__(self) -> str:
        return f"{self.get_audience_display()}: {self.text[:60]}"

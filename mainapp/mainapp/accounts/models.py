"""The user: an e-mail address, a password and two flags that decide everything else."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .managers import UserManager, normalize_email

CUSTOMER = "customer"
STAFF = "staff"


class User(AbstractBaseUser, PermissionsMixin):
    """A shopper or a member of staff; the UUID primary key is the JWT ``sub``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(
        "e-mail address",
        unique=True,
        error_messages={"unique": "A user with this e-mail address is already registered."},
    )
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Unticking deactivates the account: no login, no token refresh, no API use.",
    )
    is_staff = models.BooleanField(
        "staff status",
        default=False,
        help_text="Staff get the 'staff' role in their tokens and may log in to this admin.",
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"
        constraints = [
            # save() lower-cases; this keeps a bulk update() from sneaking in a second spelling
            # of an address, so the unique index is case-insensitive in effect.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="accounts_user_email_lowercase"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def roles(self) -> list[str]:
        """Derived from ``is_staff`` only, so the admin's staff toggle is the one switch."""
        return [STAFF] if self.is_staff else [CUSTOMER]

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email


class Session(models.Model):
    """One login: the refresh-token family every rotation carries on, named by the tokens'
    ``sid`` claim. Revoking it (logout, password change, refresh-token reuse) stops the
    family's refresh tokens here and its access tokens at every verifier (msh_auth)."""

    sid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="accounts_session_live")]

    def __str__(self) -> str:
        return str(self.sid)

"""``manage.py ensure_admin``: the superuser named by ADMIN_EMAIL / ADMIN_PASSWORD, idempotently.

Creates it if missing; otherwise sets its password and makes sure it is an active superuser.
Does nothing when the variables are unset (production may manage admins by hand).
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand
from django.db import transaction

from mainapp.accounts.managers import normalize_email
from mainapp.accounts.models import User


class Command(BaseCommand):
    help = "Create or update the superuser from ADMIN_EMAIL and ADMIN_PASSWORD."

    def handle(self, *args, **options) -> None:
        email = normalize_email(os.environ.get("ADMIN_EMAIL"))
        password = os.environ.get("ADMIN_PASSWORD", "")
        if not email or not password:
            self.stdout.write("ADMIN_EMAIL or ADMIN_PASSWORD is not set; no admin account managed")
            return
        with transaction.atomic():
            user = User.objects.select_for_update().filter(email=email).first()
            if user is None:
                User.objects.create_superuser(email, password)
                self.stdout.write(self.style.SUCCESS(f"created superuser {email}"))
                return
            changed = [
                flag
                for flag in ("is_active", "is_staff", "is_superuser")
                if not getattr(user, flag)
            ]
            for flag in changed:
                setattr(user, flag, True)
            if not user.check_password(password):
                user.set_password(password)
                changed.append("password")
            if changed:
                user.save()
                self.stdout.write(
                    self.style.SUCCESS(f"updated superuser {email}: {', '.join(changed)}")
                )
            else:
                self.stdout.write(f"superuser {email} is up to date")

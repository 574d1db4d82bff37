"""``manage.py ensure_jwt_key``: create a signing key if JWT_PRIVATE_KEYS_DIR has none."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mainapp.accounts.keys import MIN_KEY_BITS, ensure_key


class Command(BaseCommand):
    help = "Create an RSA signing key in JWT_PRIVATE_KEYS_DIR unless it already holds one."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bits", type=int, default=MIN_KEY_BITS, choices=(2048, 3072, 4096))

    def handle(self, *args, bits: int, **options) -> None:
        directory = Path(settings.JWT_PRIVATE_KEYS_DIR)
        kid = ensure_key(directory, bits)
        if kid is None:
            self.stdout.write(f"{directory} already has a signing key; nothing to do")
        else:
            self.stdout.write(self.style.SUCCESS(f"created signing key {kid} in {directory}"))

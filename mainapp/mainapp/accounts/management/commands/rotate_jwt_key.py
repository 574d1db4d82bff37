"""``manage.py rotate_jwt_key``: add a signing key; it signs from now on.

Older keys stay in the directory and keep verifying the tokens they signed (running processes
notice the new file without a restart). Retire an old key by deleting its file once every token
it signed has expired, i.e. after JWT_REFRESH_TTL_SECONDS.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mainapp.accounts.keys import MIN_KEY_BITS, generate_key, keyring


class Command(BaseCommand):
    help = "Generate a new RSA signing key in JWT_PRIVATE_KEYS_DIR; it becomes the active one."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bits", type=int, default=MIN_KEY_BITS, choices=(2048, 3072, 4096))

    def handle(self, *args, bits: int, **options) -> None:
        directory = Path(settings.JWT_PRIVATE_KEYS_DIR)
        kid = generate_key(directory, bits)
        ring = keyring()
        self.stdout.write(self.style.SUCCESS(f"created signing key {kid} in {directory}"))
        active = ring.active().kid
        if active != kid:
            self.stdout.write(
                self.style.WARNING(
                    f"{active} still signs (JWT_ACTIVE_KID pins it, or it sorts after {kid}); "
                    f"{kid} is published and verifies"
                )
            )
        older = [other for other in ring.by_kid() if other != kid]
        if older:
            self.stdout.write(
                f"older keys still verify: {', '.join(older)}; delete a key's file once the "
                "tokens it signed have expired to retire it"
            )

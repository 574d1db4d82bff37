"""``manage.py relay_outbox``: the periodic outbox sweep as a process of its own (the worker
sweeps already), or one pass (``--once``)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from msh_events.contrib.django.service import service_events


class Command(BaseCommand):
    help = "Publish pending outbox events now and then every OUTBOX_SWEEP_SECONDS until stopped."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="relay what is pending and exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        service_events().run_relay(once=once, out=self.stdout)

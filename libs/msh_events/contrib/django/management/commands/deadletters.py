"""``manage.py deadletters list|replay``: what operators do with messages a worker gave up on
(msh_events.deadletters, the same in every service)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from msh_events import deadletters
from msh_events.contrib.django.service import service_events


class Command(BaseCommand):
    help = "List dead-lettered events, or replay them onto this service's queue."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        deadletters.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = argparse.Namespace(**options)
        if namespace.action == "replay" and not namespace.ids and not namespace.all:
            raise CommandError("name dead-letter ids to replay, or pass --all")
        service_events().run_dead_letters(namespace, self.stdout)

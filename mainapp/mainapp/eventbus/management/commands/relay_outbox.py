"""``manage.py relay_outbox``: the periodic outbox sweep, as a long-running process."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from mainapp.eventbus.outbox import relay
from msh_events.relay import run_relay_process


class Command(BaseCommand):
    help = "Publish pending outbox events now and then every OUTBOX_SWEEP_SECONDS until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="relay what is pending and exit")

    def handle(self, *args, once: bool = False, **options) -> None:
        if once:
            count = relay().relay_pending()
            self.stdout.write(f"published {count} event(s)")
            return
        from mainapp.metrics import register_store_gauges
        from msh_common.metrics import start_metrics_server

        if start_metrics_server() is not None:  # METRICS_PORT set (compose), else nothing
            register_store_gauges()
        run_relay_process(relay(), settings.EVENTS.outbox_sweep_seconds)

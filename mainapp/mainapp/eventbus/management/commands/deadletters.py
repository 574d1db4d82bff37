"""``manage.py deadletters list|replay``: what operators do with messages a worker gave up on."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mainapp.eventbus.models import DeadLetter
from mainapp.eventbus.replay import replay_dead_letters


class Command(BaseCommand):
    help = "List dead-lettered events, or replay them onto this service's queue."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="list dead letters not yet replayed")
        listing.add_argument("--all", action="store_true", help="include replayed ones")
        replay = sub.add_parser("replay", help="replay dead letters by id, or --all pending")
        replay.add_argument("ids", nargs="*", type=int)
        replay.add_argument("--all", action="store_true")

    def handle(self, *args, action: str, **options) -> None:
        pending = DeadLetter.objects.filter(replayed_at__isnull=True)
        if action == "list":
            rows = DeadLetter.objects.all() if options["all"] else pending
            for dl in rows:
                error = dl.error.strip().splitlines()[-1] if dl.error.strip() else ""
                replayed = f" replayed {dl.replayed_at:%Y-%m-%d %H:%M}" if dl.replayed_at else ""
                self.stdout.write(
                    f"{dl.pk}\t{dl.created_at:%Y-%m-%d %H:%M:%S}\t{dl.type or '-'}\t"
                    f"{dl.event_id or '-'}\t{dl.attempts}\t{error}{replayed}"
                )
            return
        if not options["ids"] and not options["all"]:
            raise CommandError("name dead-letter ids to replay, or pass --all")
        rows = pending if options["all"] else DeadLetter.objects.filter(pk__in=options["ids"])
        self.stdout.write(f"replayed {replay_dead_letters(rows)} message(s)")

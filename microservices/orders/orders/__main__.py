"""``python -m orders relay|sweep|deadletters``: operators' commands.

relay [--once]               publish the outbox every OUTBOX_SWEEP_SECONDS and re-publish
                             order.placed for stale pending orders, as a process of its own
                             (the worker does both already), or one pass (--once)
sweep                        one pass of the pending-order sweeper
deadletters list [--all]     messages the worker gave up on (--all: replayed ones too)
deadletters replay ID...     send them back to the orders queue (--all: every pending one)
"""

from __future__ import annotations

import argparse
import sys

from msh_common.logging import configure_logging

from .bus import service_events
from .settings import SERVICE, Settings, get_settings
from .store.db import Database
from .sweeper import republish_stale_pending


def parser(settings: Settings, db: Database) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orders", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    service_events(settings, lambda: db).add_commands(commands)
    sweep = commands.add_parser("sweep", help="re-publish order.placed for stale pending orders")
    sweep.set_defaults(run=lambda _: sweep_once(settings, db))
    return parser


def sweep_once(settings: Settings, db: Database) -> int:
    print(f"re-published order.placed for {republish_stale_pending(db, settings)} order(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    db = Database(settings.database_url, pool_size=2, max_overflow=2)
    try:
        args = parser(settings, db).parse_args(argv)
        return int(args.run(args))
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())

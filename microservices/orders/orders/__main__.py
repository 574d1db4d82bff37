"""``python -m orders relay|sweep|deadletters``: the relay process and operators' commands.

relay [--once]               publish the outbox every OUTBOX_SWEEP_SECONDS and re-publish
                             order.placed for stale pending orders (its own process)
sweep                        one pass of the pending-order sweeper
deadletters list [--all]     messages the worker gave up on (--all: replayed ones too)
deadletters replay ID...     send them back to the orders queue (--all: every pending one)
"""

from __future__ import annotations

import argparse
import sys

from msh_common.logging import configure_logging
from msh_events import deadletters

from .broker import publisher
from .events import QUEUE
from .relay import make_relay, run_forever
from .settings import SERVICE, get_settings
from .store.db import Database
from .store.events import SqlDeadLetterStore
from .sweeper import republish_stale_pending


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orders", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    relay = commands.add_parser("relay", help="the outbox relay and pending sweeper process")
    relay.add_argument("--once", action="store_true", help="relay what is pending and exit")
    commands.add_parser("sweep", help="re-publish order.placed for stale pending orders once")
    deadletters.add_arguments(commands.add_parser("deadletters", help="list or replay them"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = get_settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    db = Database(settings.database_url, pool_size=2, max_overflow=2)
    try:
        if args.command == "relay":
            if args.once:
                print(f"published {make_relay(db, publisher(settings)).relay_pending()} event(s)")
                return 0
            from msh_common.metrics import start_metrics_server

            from .metrics import register_store_gauges

            if start_metrics_server() is not None:  # METRICS_PORT set (compose), else nothing
                register_store_gauges(db)
            run_forever(db, publisher(settings), settings)
            return 0
        if args.command == "sweep":
            print(f"re-published order.placed for {republish_stale_pending(db, settings)} order(s)")
            return 0
        return deadletters.run(args, SqlDeadLetterStore(db), publisher(settings), QUEUE)
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())

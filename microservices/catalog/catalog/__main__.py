"""Operator commands: ``python -m catalog <command>``.

setup                       create the indexes, then seed the demo catalog if it is empty
relay [--once]              the outbox sweep (a long-running process), or one pass
deadletters list [--all]    messages the worker gave up on
deadletters replay ID...|--all
check-stock                 list products breaking available + reserved == received
"""

from __future__ import annotations

import argparse
import sys
from contextlib import closing

from catalog.bus import service_events
from catalog.settings import SERVICE, Settings, load_settings
from catalog.store import Store
from msh_common.logging import configure_logging


def setup(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from catalog.seed import seed_if_empty

    store.ensure_indexes()
    adopted = store.stock.adopt_embedded_holds()
    if adopted:
        print(f"moved {adopted} hold(s) out of product documents")
    queued = store.adopt_old_outbox()
    if queued:
        print(f"queued {queued} pending event(s) of the old outbox collection on their decisions")
    created = seed_if_empty(store, settings) if not args.no_seed else 0
    print(f"indexes ready; demo seed: {created} product(s) created")
    return 0


def check_stock(store: Store) -> int:
    broken = store.stock.inconsistencies()
    for doc in broken:
        print(
            f"{doc['_id']}\tavailable={doc['available']} reserved={doc['reserved']} "
            f"received={doc['received']} holds={doc['holds']} pending={doc.get('pending') or {}}"
        )
    print(f"{len(broken)} product(s) inconsistent")
    return 1 if broken else 0


def parser(settings: Settings, store: Store) -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m catalog")
    commands = root.add_subparsers(dest="command", required=True)
    setup_cmd = commands.add_parser("setup", help="indexes, then the demo seed if empty")
    setup_cmd.add_argument("--no-seed", action="store_true")
    setup_cmd.set_defaults(run=lambda args: setup(settings, store, args))
    service_events(settings, lambda: store).add_commands(commands)
    check = commands.add_parser("check-stock", help="verify the stock invariant")
    check.set_defaults(run=lambda args: check_stock(store))
    return root


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    with closing(Store.connect(settings)) as store:
        args = parser(settings, store).parse_args(argv)
        return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

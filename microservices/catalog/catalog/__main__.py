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

from catalog.settings import SERVICE, Settings, load_settings
from catalog.store import Store
from msh_common.logging import configure_logging
from msh_events import deadletters


def setup(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from catalog.seed import seed_if_empty

    store.ensure_indexes()
    created = seed_if_empty(store, settings) if not args.no_seed else 0
    print(f"indexes ready; demo seed: {created} product(s) created")
    return 0


def relay(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from catalog.relay import make_relay, publisher_app, run_sweep

    outbox_relay = make_relay(store, publisher_app(settings))
    if args.once:
        print(f"published {outbox_relay.relay_pending()} event(s)")
        return 0
    from catalog.metrics import register_store_gauges
    from msh_common.metrics import start_metrics_server

    if start_metrics_server() is not None:  # METRICS_PORT set (compose), else nothing
        register_store_gauges(store)
    run_sweep(outbox_relay, settings.events.outbox_sweep_seconds)
    return 0


def dead_letters(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from catalog.relay import publisher_app
    from msh_events.publisher import CeleryPublisher

    sender = CeleryPublisher(publisher_app(settings))
    return deadletters.run(args, store.dead_letters, sender, SERVICE)


def check_stock(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    broken = store.stock.inconsistencies()
    for doc in broken:
        print(
            f"{doc['_id']}\tavailable={doc['available']} reserved={doc['reserved']} "
            f"received={doc['received']} holds={sum((doc.get('reservations') or {}).values())}"
        )
    print(f"{len(broken)} product(s) inconsistent")
    return 1 if broken else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m catalog")
    commands = root.add_subparsers(dest="command", required=True)
    setup_cmd = commands.add_parser("setup", help="indexes, then the demo seed if empty")
    setup_cmd.add_argument("--no-seed", action="store_true")
    setup_cmd.set_defaults(run=setup)
    relay_cmd = commands.add_parser("relay", help="the outbox sweep")
    relay_cmd.add_argument("--once", action="store_true", help="relay what is pending and exit")
    relay_cmd.set_defaults(run=relay)
    dead = commands.add_parser("deadletters", help="list or replay dead letters")
    deadletters.add_arguments(dead)
    dead.set_defaults(run=dead_letters)
    check = commands.add_parser("check-stock", help="verify the stock invariant")
    check.set_defaults(run=check_stock)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = load_settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    store = Store.connect(settings)
    try:
        return args.run(settings, store, args)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())

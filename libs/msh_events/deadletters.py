"""What operators do with messages a worker gave up on, the same in every service:

    deadletters list [--all]       the ones not replayed yet (--all: replayed ones too)
    deadletters replay ID... | --all
                                   send them back to the service's own queue, marked replayed

A service adapts its own store (a Django model, a SQL table, a MongoDB collection) to
:class:`DeadLetters`; its command line (``manage.py``, ``python -m <service>``) adds
:func:`add_arguments` and calls :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TextIO


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    created_at: datetime
    type: str | None
    event_id: str | None
    attempts: int
    error: str
    replayed_at: datetime | None
    message: Any

    @classmethod
    def from_row(cls, row: Any) -> DeadLetter:
        """From a table row with these column names (mainapp's and orders' models)."""
        return cls(
            id=str(row.id),
            created_at=row.created_at,
            type=row.type,
            event_id=row.event_id,
            attempts=row.attempts,
            error=row.error,
            replayed_at=row.replayed_at,
            message=row.message,
        )


class DeadLetters(Protocol):
    def listed(self, *, include_replayed: bool) -> list[DeadLetter]:
        """Newest first."""
        ...

    def replaying(self, ids: Sequence[str] | None) -> AbstractContextManager[list[DeadLetter]]:
        """The named dead letters (every one not replayed when None), marked replayed when the
        block exits cleanly."""
        ...


class Sender(Protocol):
    def send(self, message: dict[str, Any], queue: str) -> None: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="dead letters not replayed yet")
    listing.add_argument("--all", action="store_true", help="include replayed ones")
    replay = actions.add_parser("replay", help="send dead letters back to the queue")
    replay.add_argument("ids", nargs="*")
    replay.add_argument("--all", action="store_true", help="every dead letter not replayed")


def describe(dead: DeadLetter) -> str:
    """One tab-separated line: id, when, type, event id, attempts, the error's last line."""
    error = dead.error.strip().splitlines()[-1] if dead.error.strip() else ""
    replayed = f" replayed {dead.replayed_at:%Y-%m-%d %H:%M}" if dead.replayed_at else ""
    return (
        f"{dead.id}\t{dead.created_at:%Y-%m-%d %H:%M:%S}\t{dead.type or '-'}\t"
        f"{dead.event_id or '-'}\t{dead.attempts}\t{error}{replayed}"
    )


def run(
    args: argparse.Namespace,
    store: DeadLetters,
    sender: Sender,
    queue: str,
    out: TextIO | None = None,
) -> int:
    """Carry out ``deadletters list|replay``; the exit status."""
    out = out or sys.stdout
    if args.action == "list":
        for dead in store.listed(include_replayed=args.all):
            out.write(describe(dead) + "\n")
        return 0
    if not args.ids and not args.all:
        print("name dead-letter ids to replay, or pass --all", file=sys.stderr)
        return 2
    count = replay(store, sender, queue, None if args.all else args.ids)
    out.write(f"replayed {count} message(s)\n")
    return 0


def replay(store: DeadLetters, sender: Sender, queue: str, ids: Sequence[str] | None) -> int:
    """Send the named dead letters (every one not replayed when None) back to ``queue``,
    marked replayed; how many."""
    with store.replaying(ids) as chosen:
        for dead in chosen:
            sender.send(dead.message, queue)
    return len(chosen)

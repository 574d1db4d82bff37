"""The engine, and transactions that can run work right after they commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from msh_events import Event

logger = logging.getLogger(__name__)

_ON_COMMIT = "on_commit"


class Database:
    """One pooled engine per process; ``transaction()`` is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20) -> None:
        self.engine: Engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,  # a restarted PostgreSQL does not fail the next request
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Set by the process (web, worker): hands the events a commit wrote to its outbox
        # relay, so they leave at once instead of at the next sweep.
        self.on_outbox_commit: Callable[[Sequence[Event]], None] | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on a clean exit, rolled back on error.

        Callbacks registered with :func:`on_commit` run after the commit (never after a
        rollback); their failures are logged, since the data is committed either way.
        """
        with self.sessions() as session:
            session.info["database"] = self
            with session.begin():
                yield session
            callbacks = session.info.pop(_ON_COMMIT, [])
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("after-commit callback failed")

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction commits (once, however often added)."""
    callbacks: list[Callable[[], None]] = session.info.setdefault(_ON_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)

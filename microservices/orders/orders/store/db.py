"""The engine, and transactions that can run work right after they commit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from msh_events import Event

logger = logging.getLogger(__name__)

_ON_COMMIT = "on_commit"

# A pooled connection back in the pool for less than this is used without a liveness check.
PING_AFTER_IDLE_SECONDS = 1.0


class Database:
    """One pooled engine per process; ``transaction()`` is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20) -> None:
        self.engine: Engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
        )
        ping_connections_idle_for(self.engine, PING_AFTER_IDLE_SECONDS)
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


def ping_connections_idle_for(engine: Engine, seconds: float) -> None:
    """Check a pooled connection at checkout only when it sat idle ``seconds`` or more.

    ``pool_pre_ping`` checks every checkout: a ``SELECT 1`` round trip per transaction, 5-7% of
    orders' web and worker CPU under load (py-spy). A PostgreSQL restart takes longer than
    ``seconds``, so a connection from before it has sat idle that long and is still checked,
    and a restarted server does not fail the next request; a connection in use when the
    server goes fails either way. A failed check raises :class:`DisconnectionError`, on which
    the pool replaces the connection and tries again (SQLAlchemy's documented pessimistic
    disconnect handling).
    """

    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive_or_replaced(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction commits (once, however often added)."""
    callbacks: list[Callable[[], None]] = session.info.setdefault(_ON_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)

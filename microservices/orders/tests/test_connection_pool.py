"""The engine's pool: a connection the server dropped while it sat idle is replaced, unseen.

What a PostgreSQL restart does to the pool is done here to one connection: its backend is
terminated from another session while it is idle in the pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from orders.store import db as db_module
from orders.store.db import Database

IDLE = 0.2  # the test's PING_AFTER_IDLE_SECONDS


@pytest.fixture
def one_connection(settings, migrated, monkeypatch) -> Iterator[Database]:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", IDLE)
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    yield database
    database.dispose()


def backend_pid(database: Database) -> int:
    with database.transaction() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(database: Database, pid: int) -> None:
    """From a connection of its own, outside the pool under test."""
    with database.engine.pool._creator() as connection:  # type: ignore[attr-defined]
        connection.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_back_in_the_pool_is_reused(one_connection):
    assert backend_pid(one_connection) == backend_pid(one_connection)


def test_a_connection_dropped_while_idle_is_replaced_before_the_next_transaction(one_connection):
    first = backend_pid(one_connection)
    terminate(one_connection, first)
    deadline = time.monotonic() + IDLE
    while time.monotonic() < deadline:  # idle past the threshold, as through any restart
        time.sleep(IDLE / 4)
    second = backend_pid(one_connection)  # no error: checked, found gone, replaced
    assert second != first

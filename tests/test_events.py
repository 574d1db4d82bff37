"""Events through real workers: the welcome e-mail, user.deleted, a worker killed mid-event."""

from __future__ import annotations

import signal

import psycopg
from helpers import bearer, delete_account, eventually, login, new_email, register


def outbox_rows(stack, event_type: str, key: str, value: str) -> list[tuple]:
    with stack.mainapp_db() as db:
        return db.execute(
            "SELECT id, sent_at FROM eventbus_outboxevent "
            "WHERE type = %s AND envelope->'data'->>%s = %s",
            (event_type, key, value),
        ).fetchall()


def processed_count(stack, event_id: str) -> int:
    with stack.mainapp_db() as db:
        return db.execute(
            "SELECT count(*) FROM eventbus_processedevent WHERE event_id = %s", (event_id,)
        ).fetchone()[0]


def test_welcome_email_is_written_by_the_worker(stack, client):
    email = new_email()
    register(client, email)

    mails = eventually(lambda: stack.mails_to(email), timeout=30)
    assert len(mails) == 1
    assert "Welcome to MicroServiceHub" in mails[0]
    # marked sent with the relay's next batch (within a fraction of a second)
    [(event_id, sent_at)] = eventually(
        lambda: [row for row in outbox_rows(stack, "user.registered", "email", email) if row[1]],
        timeout=10,
    )
    assert sent_at is not None
    assert processed_count(stack, str(event_id)) == 1


def test_deleting_the_account_publishes_user_deleted(stack, client):
    user = register(client)
    tokens = login(client, user["email"])

    response = delete_account(client, tokens["access"])
    assert response.status_code == 204, response.text
    assert client.get("/api/users/me", headers=bearer(tokens["access"])).status_code == 401

    def published():
        rows = outbox_rows(stack, "user.deleted", "user_id", str(user["id"]))
        return rows and rows[0][1] is not None

    eventually(published, timeout=15)
    [(event_id, _)] = outbox_rows(stack, "user.deleted", "user_id", str(user["id"]))

    def handled_by_orders():
        """orders (the subscriber of user.deleted) applied the event exactly once"""
        with psycopg.connect(stack.env["ORDERS_DATABASE_URL"], autocommit=True) as db:
            return (
                db.execute(
                    "SELECT count(*) FROM processed_events WHERE event_id = %s", (str(event_id),)
                ).fetchone()[0]
                == 1
            )

    eventually(handled_by_orders, timeout=20)


def test_worker_killed_mid_event_handles_it_after_restart_exactly_once(stack, client):
    # A worker that takes 4 s per event, so there is time to kill it in the middle of one.
    slow = stack.restart("mainapp-worker", EVENTS_HANDLER_DELAY="4")
    r = stack.redis()
    eventually(lambda: slow.alive and " ready." in slow.log(), timeout=30)
    email = new_email()
    register(client, email)

    def taken_by_worker():
        """the event is unacknowledged in the worker's hands"""
        return r.hlen("unacked") > 0 and r.llen("mainapp") == 0

    eventually(taken_by_worker, timeout=20, interval=0.05)
    slow.signal(signal.SIGKILL)
    slow.process.wait()
    assert stack.mails_to(email) == []

    stack.restart("mainapp-worker")
    mails = eventually(lambda: stack.mails_to(email), timeout=40)
    [(event_id, _)] = outbox_rows(stack, "user.registered", "email", email)
    # Let any duplicate delivery arrive, then check it was applied exactly once.
    eventually(lambda: r.hlen("unacked") == 0 and r.llen("mainapp") == 0, timeout=20)
    assert len(stack.mails_to(email)) == len(mails) == 1
    assert processed_count(stack, str(event_id)) == 1

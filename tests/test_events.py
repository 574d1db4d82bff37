"""Events through real workers: the welcome e-mail, user.deleted, a worker killed mid-event."""

from __future__ import annotations

import base64
import json
import signal

from helpers import bearer, eventually, login, new_email, register


def queued_envelopes(stack, queue: str) -> list[dict]:
    """The event envelopes waiting in a service's queue (kombu's Redis list)."""
    envelopes = []
    for raw in stack.redis().lrange(queue, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        envelopes.append(args[0])
    return envelopes


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
    [(event_id, sent_at)] = outbox_rows(stack, "user.registered", "email", email)
    assert sent_at is not None
    assert processed_count(stack, str(event_id)) == 1


def test_deleting_the_account_publishes_user_deleted(stack, client):
    user = register(client)
    tokens = login(client, user["email"])

    response = client.delete("/api/users/me", headers=bearer(tokens["access"]))
    assert response.status_code == 204, response.text
    assert client.get("/api/users/me", headers=bearer(tokens["access"])).status_code == 401

    def published():
        rows = outbox_rows(stack, "user.deleted", "user_id", str(user["id"]))
        return rows and rows[0][1] is not None

    eventually(published, timeout=15)
    # orders consumes user.deleted; its queue holds it until the orders worker runs
    for queue in ("orders",):
        mine = [
            envelope
            for envelope in queued_envelopes(stack, queue)
            if envelope["type"] == "user.deleted" and envelope["data"]["user_id"] == str(user["id"])
        ]
        assert len(mine) == 1, queue
        assert mine[0]["producer"] == "mainapp"


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

"""Forgotten password: the same 202 for every address, a single-use link for real ones."""

from __future__ import annotations

import base64
import json
import re
import threading

import pytest
import redis
from django.core import mail
from django.db import connection
from rest_framework.test import APIClient

from mainapp.accounts import tasks
from mainapp.accounts.password_reset import make_token

pytestmark = pytest.mark.django_db

SAME_ANSWER = {"detail": "If an account exists for this address, a reset link has been sent."}
NEW_PASSWORD = "brand-New-passphrase-5"


@pytest.fixture
def worker(monkeypatch):
    """Stands in for the Celery worker: runs the enqueued task in-process."""
    sent: list[tuple] = []

    def enqueue(name: str, *args: str) -> None:
        sent.append((name, *args))
        assert name == tasks.SEND_PASSWORD_RESET_EMAIL
        tasks.send_password_reset_email(*args)

    monkeypatch.setattr(tasks, "_enqueue", enqueue)
    return sent


def request_reset(api, email, capture):
    with capture(execute=True) as callbacks:
        response = api.post("/api/auth/password-reset", {"email": email}, format="json")
    return response, callbacks


def link_token(message) -> str:
    return re.search(r"/reset-password\?token=(\S+)", message.body).group(1)


def test_known_and_unknown_addresses_get_the_same_answer_and_only_one_mail(
    api, user, worker, django_capture_on_commit_callbacks, settings
):
    unknown, unknown_callbacks = request_reset(
        api, "nobody@example.com", django_capture_on_commit_callbacks
    )
    known, known_callbacks = request_reset(
        api, "ANN@example.com", django_capture_on_commit_callbacks
    )

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json() == SAME_ANSWER
    assert (len(unknown_callbacks), len(known_callbacks)) == (0, 1)  # enqueued after commit
    [message] = mail.outbox
    assert message.to == ["ann@example.com"]
    assert f"{settings.PUBLIC_URL}/reset-password?token=" in message.body
    assert link_token(message) in message.alternatives[0][0]  # the HTML part has it too


def test_an_inactive_account_gets_no_mail(api, user, worker, django_capture_on_commit_callbacks):
    user.is_active = False
    user.save()
    response, _ = request_reset(api, user.email, django_capture_on_commit_callbacks)
    assert response.json() == SAME_ANSWER
    assert mail.outbox == []


def test_the_link_sets_a_new_password_once(
    api, user, login, worker, django_capture_on_commit_callbacks, assert_error
):
    session = login(user.email)
    request_reset(api, user.email, django_capture_on_commit_callbacks)
    token = link_token(mail.outbox[0])

    confirmed = api.post(
        "/api/auth/password-reset/confirm",
        {"token": token, "password": NEW_PASSWORD},
        format="json",
    )
    assert confirmed.status_code == 204, confirmed.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert login(user.email, NEW_PASSWORD)
    # every session from before the reset is over
    refused = api.post("/api/auth/refresh", {"refresh": session["refresh"]}, format="json")
    assert_error(refused, 401)

    again = api.post(
        "/api/auth/password-reset/confirm",
        {"token": token, "password": "yet-Another-phrase-6"},
        format="json",
    )
    error = assert_error(again, 422, "validation_error")
    assert list(error["fields"]) == ["token"]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "token", ["garbage", "", "abc.def", "Zm9v.1a2b-0123456789abcdef", "bm90LWEtdXVpZA.x-y"]
)
def test_invalid_tokens_are_a_field_error(api, user, token, assert_error):
    response = api.post(
        "/api/auth/password-reset/confirm",
        {"token": token, "password": NEW_PASSWORD},
        format="json",
    )
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["token"]


def test_an_expired_token_is_refused(api, user, settings, assert_error):
    token = make_token(user)
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = api.post(
        "/api/auth/password-reset/confirm",
        {"token": token, "password": NEW_PASSWORD},
        format="json",
    )
    assert list(assert_error(response, 422)["fields"]) == ["token"]


def test_a_weak_new_password_is_refused_and_the_token_stays_usable(api, user, assert_error):
    token = make_token(user)
    weak = api.post(
        "/api/auth/password-reset/confirm", {"token": token, "password": "12345"}, format="json"
    )
    assert list(assert_error(weak, 422)["fields"]) == ["password"]
    ok = api.post(
        "/api/auth/password-reset/confirm",
        {"token": token, "password": NEW_PASSWORD},
        format="json",
    )
    assert ok.status_code == 204


def test_reset_requests_are_throttled(api, settings, assert_error):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "password_reset": "1/min",
        },
    }
    api.post("/api/auth/password-reset", {"email": "a@example.com"}, format="json")
    limited = api.post("/api/auth/password-reset", {"email": "a@example.com"}, format="json")
    assert_error(limited, 429, "rate_limited")
    assert limited.has_header("Retry-After")


def test_the_task_skips_a_user_deleted_meanwhile(user):
    user_id = str(user.pk)
    user.delete()
    assert tasks.send_password_reset_email(user_id) == "skipped"
    assert mail.outbox == []


def test_the_reset_task_is_sent_to_the_mainapp_queue(
    user, settings, django_capture_on_commit_callbacks
):
    """The real enqueue (no stand-in): the worker's task, on the worker's queue, after commit."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("mainapp")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.queue_password_reset_email(user)
            assert broker.llen("mainapp") == 0  # nothing before the commit
        [raw] = broker.lrange("mainapp", 0, -1)
        message = json.loads(raw)
        assert message["headers"]["task"] == tasks.SEND_PASSWORD_RESET_EMAIL
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert (args, kwargs) == ([str(user.pk)], {})
    finally:
        broker.delete("mainapp")


@pytest.mark.django_db(transaction=True)
def test_one_token_used_twice_at_once_sets_one_password(make_user):
    user = make_user("twice@example.com")
    token = make_token(user)
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def confirm(new_password: str) -> None:
        try:
            barrier.wait()
            response = APIClient().post(
                "/api/auth/password-reset/confirm",
                {"token": token, "password": new_password},
                format="json",
            )
            results[new_password] = response.status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=confirm, args=(pw,))
        for pw in ("first-Long-phrase-1", "second-Long-phrase-2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [204, 422]
    [winner] = [pw for pw, status in results.items() if status == 204]
    user.refresh_from_db()
    assert user.check_password(winner)

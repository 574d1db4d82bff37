"""/api/users/me: read, edit, change the password, delete the account."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from mainapp.accounts import tasks
from mainapp.accounts.models import User
from msh_events.contrib.django.models import OutboxEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct-Horse-battery-9"


@pytest.fixture
def me(api, tokens, bearer):
    """An API client authenticated as ``user``."""
    api.credentials(**bearer(tokens["access"]))
    return api


def test_profile_needs_a_token(assert_error):
    assert_error(APIClient().get("/api/users/me"), 401, "not_authenticated")


def test_profile_shows_the_user_without_password_fields(me, user):
    body = me.get("/api/users/me").json()
    assert body == {
        "id": str(user.pk),
        "email": "ann@example.com",
        "name": "Ann",
        "roles": ["customer"],
        "date_joined": body["date_joined"],
    }


def test_patch_changes_name_and_email(me, user):
    response = me.patch(
        "/api/users/me",
        {"name": "Ann B", "email": "Ann.B@Example.com", "current_password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "ann.b@example.com"
    user.refresh_from_db()
    assert (user.name, user.email) == ("Ann B", "ann.b@example.com")


def test_patch_ignores_read_only_fields(me, user):
    response = me.patch("/api/users/me", {"roles": ["staff"], "id": "x"}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert not user.is_staff


def test_patch_to_a_taken_email_is_a_field_error(me, make_user, assert_error):
    make_user("taken@example.com")
    error = assert_error(
        me.patch(
            "/api/users/me",
            {"email": "TAKEN@example.com", "current_password": PASSWORD},
            format="json",
        ),
        422,
    )
    assert list(error["fields"]) == ["email"]


def test_patch_to_ones_own_email_is_fine(me):
    response = me.patch("/api/users/me", {"email": "ANN@example.com"}, format="json")
    assert response.status_code == 200


def test_patch_with_an_invalid_email(me, assert_error):
    error = assert_error(me.patch("/api/users/me", {"email": "nope"}, format="json"), 422)
    assert "email" in error["fields"]


def test_change_password(me, user, password, login, assert_error):
    old_session = login(user.email)
    response = me.post(
        "/api/users/me/password",
        {"current_password": password, "new_password": "another-Long-phrase-4"},
        format="json",
    )
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password("another-Long-phrase-4")
    # every session ends with the old password
    refused = APIClient().post(
        "/api/auth/refresh", {"refresh": old_session["refresh"]}, format="json"
    )
    assert_error(refused, 401)
    assert login(user.email, "another-Long-phrase-4")


def test_change_password_with_a_wrong_current_password(me, user, password, assert_error):
    error = assert_error(
        me.post(
            "/api/users/me/password",
            {"current_password": "not-it-at-all-1", "new_password": "another-Long-phrase-4"},
            format="json",
        ),
        422,
        "validation_error",
    )
    assert list(error["fields"]) == ["current_password"]
    user.refresh_from_db()
    assert user.check_password(password)


def test_change_password_to_a_weak_one(me, password, assert_error):
    error = assert_error(
        me.post(
            "/api/users/me/password",
            {"current_password": password, "new_password": "12345"},
            format="json",
        ),
        422,
    )
    assert list(error["fields"]) == ["new_password"]


def test_delete_removes_the_account_publishes_user_deleted_and_ends_sessions(
    me, user, tokens, assert_error
):
    user_id = str(user.pk)
    response = me.delete("/api/users/me", {"current_password": PASSWORD}, format="json")
    assert response.status_code == 204, response.content

    assert not User.objects.filter(pk=user_id).exists()
    [event] = OutboxEvent.objects.filter(type="user.deleted")
    assert event.envelope["data"] == {"user_id": user_id}
    client = APIClient()
    assert_error(
        client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json"), 401
    )
    assert_error(client.get("/api/users/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"), 401)
    assert_error(
        client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json"), 401
    )


def test_a_refresh_token_never_blacklisted_is_refused_once_its_user_is_gone(
    api, make_user, login, assert_error
):
    user = make_user("gone@example.com")
    refresh = login(user.email)["refresh"]
    user.delete()  # e.g. from the admin: no revocation, the row stays with user=NULL
    assert_error(api.post("/api/auth/refresh", {"refresh": refresh}, format="json"), 401)


# --- current_password for e-mail change and deletion ---------------------------------------


@pytest.fixture
def worker(monkeypatch):
    """Stands in for the Celery worker: runs the enqueued notice in-process."""

    def enqueue(name: str, *args: str) -> None:
        assert name == tasks.SEND_EMAIL_CHANGED_NOTICE
        tasks.send_email_changed_notice(*args)

    monkeypatch.setattr(tasks, "_enqueue", enqueue)


def test_email_change_mails_the_old_address_and_ends_the_other_sessions(
    me, user, tokens, login, bearer, worker, django_capture_on_commit_callbacks, assert_error
):
    other = login(user.email)
    with django_capture_on_commit_callbacks(execute=True):
        response = me.patch(
            "/api/users/me",
            {"email": "ann.new@example.com", "current_password": PASSWORD},
            format="json",
        )
    assert response.status_code == 200, response.content
    [message] = mail.outbox
    assert message.to == ["ann@example.com"]
    assert "a***@example.com" in message.body and "ann.new@example.com" not in message.body
    client = APIClient()
    assert client.get("/api/users/me", **bearer(tokens["access"])).status_code == 200
    assert_error(client.get("/api/users/me", **bearer(other["access"])), 401, "invalid_token")
    refused = client.post("/api/auth/refresh", {"refresh": other["refresh"]}, format="json")
    assert_error(refused, 401)
    kept = client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert kept.status_code == 200, kept.content


@pytest.mark.parametrize("body", [{}, {"current_password": "not-it-at-all-1"}])
def test_email_change_without_the_right_password_changes_nothing(
    me, user, login, bearer, body, assert_error
):
    other = login(user.email)
    response = me.patch("/api/users/me", {"email": "ann.new@example.com", **body}, format="json")
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["current_password"]
    user.refresh_from_db()
    assert user.email == "ann@example.com"
    assert APIClient().get("/api/users/me", **bearer(other["access"])).status_code == 200
    assert not mail.outbox


def test_a_name_change_needs_no_password(me, user):
    assert me.patch("/api/users/me", {"name": "Ann Z"}, format="json").status_code == 200


@pytest.mark.parametrize("body", [None, {}, {"current_password": "not-it-at-all-1"}])
def test_deletion_without_the_right_password_changes_nothing(me, user, body, assert_error):
    error = assert_error(me.delete("/api/users/me", body, format="json"), 422, "validation_error")
    assert list(error["fields"]) == ["current_password"]
    assert User.objects.filter(pk=user.pk).exists()
    assert not OutboxEvent.objects.filter(type="user.deleted").exists()


def test_the_openapi_document_names_current_password(api):
    schema = api.get("/api/schema", {"format": "json"}).json()
    delete = schema["paths"]["/api/users/me"]["delete"]
    ref = delete["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert body["required"] == ["current_password"]

"""Revoked tokens stop in mainapp too, and mainapp records every revocation in the stream the
other verifiers follow (msh_auth.revocation), against the session's real Redis."""

from __future__ import annotations

import jwt
import pytest
import redis
from django.conf import settings
from django.test import Client

from devstack.servers import free_port
from mainapp.accounts import revocations
from mainapp.accounts.models import User
from msh_auth import STREAM_KEY

pytestmark = pytest.mark.django_db


def stream_entries() -> list[dict[str, str]]:
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return [fields for _id, fields in client.xrange(STREAM_KEY)]


def sid_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sid"]


def superuser_client(make_user, password: str) -> Client:
    """A browser signed in to the Django admin as a new superuser."""
    make_user("root@example.com", is_staff=True, is_superuser=True)
    admin = Client()
    admin.post("/admin/login/", {"username": "root@example.com", "password": password})
    return admin


@pytest.fixture
def unreachable_redis(settings):
    """Point mainapp's revocation writer and list at a port nobody listens on."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    revocations.writer.cache_clear()
    revocations.revocation_list.cache_clear()
    yield
    revocations.revocation_list().stop()
    revocations.writer.cache_clear()
    revocations.revocation_list.cache_clear()


def test_password_change_revokes_every_session_and_a_new_login_works(
    api, user, password, login, bearer, assert_error
):
    current, other = login(user.email), login(user.email)
    response = api.post(
        "/api/users/me/password",
        {"current_password": password, "new_password": "another-Long-phrase-4"},
        format="json",
        **bearer(current["access"]),
    )
    assert response.status_code == 204, response.content
    revoked = {e["subject"] for e in stream_entries() if e["kind"] == "session"}
    assert {sid_of(current["access"]), sid_of(other["access"])} <= revoked
    for pair in (current, other):
        assert_error(api.get("/api/users/me", **bearer(pair["access"])), 401, "invalid_token")
    fresh = login(user.email, "another-Long-phrase-4")
    assert api.get("/api/users/me", **bearer(fresh["access"])).status_code == 200


def test_deactivation_in_the_admin_records_a_user_revocation(
    make_user, user, login, password, bearer, api, assert_error
):
    tokens = login(user.email)
    admin = superuser_client(make_user, password)
    data = {
        "email": user.email,
        "name": user.name,
        "is_active": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = admin.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert not User.objects.get(pk=user.pk).is_active
    assert {"kind": "user", "subject": str(user.pk)}.items() <= stream_entries()[-1].items()
    assert_error(api.get("/api/users/me", **bearer(tokens["access"])), 401)


def test_saving_an_active_user_records_nothing(user):
    before = len(stream_entries())
    user.name = "Ann C"
    user.save()
    assert len(stream_entries()) == before


def test_logout_with_redis_unreachable_is_a_503_and_changes_nothing(
    api, user, login, unreachable_redis, assert_error
):
    tokens = login(user.email)
    response = api.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"]
    revocations.writer.cache_clear()
    settings.REDIS_URL = settings.CACHES["default"]["LOCATION"]
    renewed = api.post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert renewed.status_code == 200, renewed.content


def test_a_stale_revocation_list_fails_closed_with_503(
    api, user, tokens, bearer, unreachable_redis, assert_error
):
    response = api.get("/api/users/me", **bearer(tokens["access"]))
    assert_error(response, 503, "auth_unavailable")
    assert response["Retry-After"] == "5"


def test_a_password_set_in_the_admin_ends_every_session(
    make_user, user, login, password, bearer, api, assert_error
):
    tokens = login(user.email)
    admin = superuser_client(make_user, password)
    new = "admin-Chosen-phrase-31"
    response = admin.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert_error(api.get("/api/users/me", **bearer(tokens["access"])), 401, "invalid_token")
    refused = api.post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert_error(refused, 401)
    assert api.get("/api/users/me", **bearer(login(user.email, new)["access"])).status_code == 200


def test_a_rehash_at_login_ends_no_session(user, login, password, bearer, api):
    """Django re-hashes with update_fields=["password"]: not a password change."""
    tokens = login(user.email)
    user.set_password(password)
    user.save(update_fields=["password"])
    assert api.get("/api/users/me", **bearer(tokens["access"])).status_code == 200


def test_the_migrations_match_the_models():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # every app

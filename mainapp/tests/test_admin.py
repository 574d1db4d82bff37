"""The Django admin for users, and the ensure_admin seed command."""

from __future__ import annotations

import jwt
import pytest
from django.core.management import call_command
from django.test import Client

from mainapp.accounts.models import User

pytestmark = pytest.mark.django_db


def admin_login(client: Client, email: str, password: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password, "next": "/admin/"},
    )


def test_the_admin_login_page_renders():
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_a_staff_user_logs_in_to_the_admin(make_user, password):
    make_user("boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    response = admin_login(client, "Boss@Example.com", password)
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200
    assert b"Site administration" in home.content


def test_a_customer_cannot_log_in_to_the_admin(user, password):
    client = Client()
    response = admin_login(client, user.email, password)
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


@pytest.fixture
def admin_client_(make_user, password) -> Client:
    make_user("root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    assert admin_login(client, "root@example.com", password).status_code == 302
    return client


def test_users_are_listed_searchable_and_filterable(admin_client_, make_user):
    make_user("findme@example.com", name="Findable Person")
    make_user("other@example.com")
    found = admin_client_.get("/admin/accounts/user/", {"q": "findable"})
    assert found.status_code == 200
    assert b"findme@example.com" in found.content
    assert b"other@example.com" not in found.content
    staff_only = admin_client_.get("/admin/accounts/user/", {"is_staff__exact": "1"})
    assert b"root@example.com" in staff_only.content
    assert b"findme@example.com" not in staff_only.content


def test_the_admin_creates_a_user_with_the_password_twice(admin_client_):
    assert admin_client_.get("/admin/accounts/user/add/").status_code == 200
    response = admin_client_.post(
        "/admin/accounts/user/add/",
        {
            "email": "New@Example.com",
            "name": "New",
            "password1": "a-Fine-passphrase-8",
            "password2": "a-Fine-passphrase-8",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(email="new@example.com")
    assert user.check_password("a-Fine-passphrase-8")
    assert user.roles == ["customer"]


def test_the_admin_refuses_mismatched_passwords_and_duplicate_emails(admin_client_, user):
    mismatch = admin_client_.post(
        "/admin/accounts/user/add/",
        {"email": "x@example.com", "password1": "a-Fine-passphrase-8", "password2": "other-9"},
    )
    assert mismatch.status_code == 200 and not User.objects.filter(email="x@example.com").exists()
    duplicate = admin_client_.post(
        "/admin/accounts/user/add/",
        {
            "email": "ANN@example.com",
            "password1": "a-Fine-passphrase-8",
            "password2": "a-Fine-passphrase-8",
        },
    )
    assert duplicate.status_code == 200
    assert b"already registered" in duplicate.content


def change(admin_client: Client, user: User, **fields) -> None:
    data = {
        "email": user.email,
        "name": user.name,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **fields,
    }
    data = {key: value for key, value in data.items() if value != ""}
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]


def test_making_a_user_staff_in_the_admin_gives_the_staff_role(
    admin_client_, user, login, password
):
    session = login(user.email)
    change(admin_client_, user, is_staff="on")
    user.refresh_from_db()
    assert user.is_staff and user.roles == ["staff"]
    refreshed = Client().post(
        "/api/auth/refresh", {"refresh": session["refresh"]}, content_type="application/json"
    )
    assert jwt.decode(refreshed.json()["access"], options={"verify_signature": False})["roles"] == [
        "staff"
    ]


def test_deactivating_in_the_admin_blocks_login_refresh_and_api_use(
    admin_client_, user, login, password, assert_error
):
    session = login(user.email)
    change(admin_client_, user, is_active="")
    user.refresh_from_db()
    assert not user.is_active
    api = Client()
    assert_error(
        api.post(
            "/api/auth/login",
            {"email": user.email, "password": password},
            content_type="application/json",
        ),
        401,
        "invalid_credentials",
    )
    assert_error(
        api.post(
            "/api/auth/refresh", {"refresh": session["refresh"]}, content_type="application/json"
        ),
        401,
    )
    assert_error(api.get("/api/users/me", HTTP_AUTHORIZATION=f"Bearer {session['access']}"), 401)


def test_token_tables_are_in_the_admin(admin_client_):
    assert admin_client_.get("/admin/token_blacklist/outstandingtoken/").status_code == 200
    assert admin_client_.get("/admin/token_blacklist/blacklistedtoken/").status_code == 200


# --- ensure_admin ------------------------------------------------------------------------------


def test_ensure_admin_creates_then_is_idempotent(monkeypatch, capsys):
    monkeypatch.setenv("ADMIN_EMAIL", "Admin@Example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "seed-Password-1")
    call_command("ensure_admin")
    assert "created superuser admin@example.com" in capsys.readouterr().out
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and admin.is_superuser and admin.check_password("seed-Password-1")

    call_command("ensure_admin")
    assert "up to date" in capsys.readouterr().out
    assert User.objects.filter(email="admin@example.com").count() == 1


def test_ensure_admin_restores_password_and_flags(monkeypatch, capsys, make_user):
    make_user("admin@example.com", password="old-Password-2", is_active=False)
    monkeypatch.setenv("ADMIN_EMAIL", "admin@example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "seed-Password-1")
    call_command("ensure_admin")
    out = capsys.readouterr().out
    assert "updated superuser admin@example.com" in out and "password" in out
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_active and admin.is_staff and admin.is_superuser
    assert admin.check_password("seed-Password-1")


def test_ensure_admin_without_the_variables_does_nothing(monkeypatch, capsys):
    monkeypatch.delenv("ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    assert "not set" in capsys.readouterr().out
    assert not User.objects.exists()


def test_the_seeded_admin_logs_in_to_the_admin(monkeypatch):
    monkeypatch.setenv("ADMIN_EMAIL", "admin@example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "seed-Password-1")
    call_command("ensure_admin")
    assert admin_login(Client(), "admin@example.com", "seed-Password-1").status_code == 302

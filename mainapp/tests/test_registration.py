"""POST /api/auth/register: the user row and its user.registered event commit together."""

from __future__ import annotations

import pytest

from mainapp.accounts.models import User
from msh_events.contrib.django.models import OutboxEvent

pytestmark = pytest.mark.django_db


def register(api, **body):
    return api.post("/api/auth/register", body, format="json")


def test_register_creates_a_customer_and_never_returns_a_password(api, password):
    response = register(api, email="Ann@Example.COM", password=password, name="Ann")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "email", "name", "roles", "date_joined"}
    assert body["email"] == "ann@example.com"
    assert body["name"] == "Ann"
    assert body["roles"] == ["customer"]
    user = User.objects.get(pk=body["id"])
    assert user.check_password(password)
    assert not user.is_staff and user.is_active


def test_register_publishes_user_registered_in_the_outbox(api, password):
    body = register(api, email="bob@example.com", password=password, name="Bob").json()

    [event] = OutboxEvent.objects.filter(type="user.registered")
    assert event.envelope["data"] == {
        "user_id": body["id"],
        "email": "bob@example.com",
        "name": "Bob",
    }
    assert event.envelope["producer"] == "mainapp"


def test_name_is_optional(api, password):
    response = register(api, email="cy@example.com", password=password)
    assert response.status_code == 201
    assert response.json()["name"] == ""


def test_duplicate_email_in_any_case_is_a_field_error_and_publishes_nothing(
    api, password, make_user, assert_error
):
    make_user("dee@example.com")
    error = assert_error(
        register(api, email="DEE@example.com", password=password), 422, "validation_error"
    )
    assert list(error["fields"]) == ["email"]
    assert "already registered" in error["fields"]["email"][0]
    assert User.objects.filter(email="dee@example.com").count() == 1
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize(
    "weak",
    ["short1", "password123", "12345678901", "ellen@example.com"],
    ids=["too-short", "common", "numeric", "like-the-email"],
)
def test_weak_passwords_are_refused_under_password(api, weak, assert_error):
    error = assert_error(register(api, email="ellen@example.com", password=weak), 422)
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"password"}
    assert not User.objects.exists()


def test_bad_email_and_weak_password_are_both_reported(api, assert_error):
    error = assert_error(register(api, email="not-an-email", password="123"), 422)
    assert set(error["fields"]) == {"email", "password"}


def test_missing_fields_are_named(api, assert_error):
    error = assert_error(register(api), 422, "validation_error")
    assert set(error["fields"]) == {"email", "password"}


def test_wrong_types_are_field_errors(api, assert_error):
    error = assert_error(register(api, email=["x@example.com"], password=12345), 422)
    assert error["code"] == "validation_error"
    assert "email" in error["fields"]


def test_a_json_list_is_a_validation_error(api, assert_error):
    response = api.post("/api/auth/register", [1, 2], format="json")
    assert assert_error(response, 422, "validation_error")


def test_registration_is_throttled_per_client_address(api, password, settings, assert_error):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "register": "2/min",
        },
    }
    gateway = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    for n in range(2):
        response = api.post(
            "/api/auth/register",
            {"email": f"t{n}@example.com", "password": password},
            format="json",
            **gateway,
        )
        assert response.status_code == 201
    limited = api.post(
        "/api/auth/register",
        {"email": "t3@example.com", "password": password},
        format="json",
        **gateway,
    )
    assert_error(limited, 429, "rate_limited")
    assert int(limited["Retry-After"]) > 0
    other_client = api.post(
        "/api/auth/register",
        {"email": "t4@example.com", "password": password},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert other_client.status_code == 201

"""Who the client is (TRUSTED_PROXIES), login throttles per address and per account (API and
admin), and no-store on responses carrying tokens or personal data."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from mainapp.accounts.throttles import account_hint
from mainapp.edge import ForwardedHeadersMiddleware

pytestmark = pytest.mark.django_db

WRONG = "wrong-Password-1"
STRANGER = "198.51.100.1"  # a peer that is not a trusted proxy


@pytest.fixture
def login_rate(settings):
    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "login": rate,
                "register": rate,
            },
        }

    return set_rate


def admin_post(client: Client, email: str, password: str, **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password, "next": "/admin/"},
        **extra,
    )


# --- the Django admin's login ---------------------------------------------------------------


def test_admin_login_is_throttled_per_address_even_for_the_right_password(
    make_user, password, login_rate, caplog
):
    login_rate("3/min")
    make_user("boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(3):
        assert admin_post(client, "boss@example.com", WRONG).status_code == 200
    with caplog.at_level(logging.WARNING, logger="mainapp.accounts.throttles"):
        refused = admin_post(client, "boss@example.com", password)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert b"Too many login attempts" in refused.content
    assert client.get("/admin/").status_code == 302  # not logged in
    [record] = [r for r in caplog.records if r.name == "mainapp.accounts.throttles"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "127.0.0.1" in message and account_hint("boss@example.com") in message
    assert "boss@example.com" not in message and password not in message


def test_admin_login_is_throttled_per_account_across_addresses(make_user, password, login_rate):
    login_rate("3/min")
    make_user("boss@example.com", is_staff=True, is_superuser=True)
    for n in range(3):  # the gateway (a trusted peer) forwards three different clients
        admin_post(Client(), "Boss@example.com", WRONG, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    refused = admin_post(Client(), "boss@example.com", password, HTTP_X_FORWARDED_FOR="192.0.2.9")
    assert refused.status_code == 429
    other = admin_post(Client(), "other@example.com", WRONG, HTTP_X_FORWARDED_FOR="192.0.2.9")
    assert other.status_code == 200  # that address and another account are still free


# --- the API's login --------------------------------------------------------------------------


def test_api_login_is_throttled_per_account_across_addresses(user, password, login_rate):
    login_rate("3/min")
    for n in range(3):
        APIClient().post(
            "/api/auth/login",
            {"email": user.email, "password": WRONG},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    refused = APIClient().post(
        "/api/auth/login",
        {"email": user.email.upper(), "password": password},
        format="json",
        HTTP_X_FORWARDED_FOR="192.0.2.9",
    )
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


def test_the_admin_and_the_api_share_one_login_window(user, password, login_rate):
    login_rate("3/min")
    for _ in range(3):
        admin_post(Client(), user.email, WRONG)
    refused = APIClient().post(
        "/api/auth/login", {"email": user.email, "password": password}, format="json"
    )
    assert refused.status_code == 429


# --- forwarding headers: believed only from TRUSTED_PROXIES ----------------------------------


def test_a_direct_client_rotating_x_forwarded_for_is_one_client(password, login_rate):
    login_rate("2/min")
    statuses = [register_from(password, f"rot{n}", STRANGER, f"203.0.113.{n}") for n in range(3)]
    assert statuses == [201, 201, 429]


def register_from(password: str, who: str, peer: str, forwarded_for: str) -> int:
    """The status of a registration sent by ``peer`` with that X-Forwarded-For."""
    return (
        APIClient()
        .post(
            "/api/auth/register",
            {"email": f"{who}@example.com", "password": password},
            format="json",
            REMOTE_ADDR=peer,
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )
        .status_code
    )


def test_clients_behind_a_trusted_proxy_are_told_apart(password, login_rate, settings):
    login_rate("1/min")
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The client's own claim, the client as an outer proxy saw it, then that proxy.
    statuses = [
        register_from(password, f"fwd{n}", "10.1.2.3", f"6.6.6.6, 203.0.113.{n}, 10.9.9.9")
        for n in range(3)
    ]
    assert statuses == [201, 201, 201]


@pytest.mark.parametrize(
    ("peer", "expected"),
    [(STRANGER, (STRANGER, None, None)), ("127.0.0.1", ("203.0.113.5", "shop.example", "https"))],
)
def test_forwarding_headers_are_dropped_unless_the_peer_is_trusted(peer, expected):
    request = RequestFactory().get(
        "/",
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR="203.0.113.5",
        HTTP_X_FORWARDED_HOST="shop.example",
        HTTP_X_FORWARDED_PROTO="https",
    )
    seen = {}

    def view(req):
        meta = req.META
        seen["meta"] = (
            meta["REMOTE_ADDR"],
            meta.get("HTTP_X_FORWARDED_HOST"),
            meta.get("HTTP_X_FORWARDED_PROTO"),
        )

    ForwardedHeadersMiddleware(view)(request)
    assert seen["meta"] == expected


# --- Cache-Control: no-store -----------------------------------------------------------------


def test_token_and_profile_responses_are_no_store(user, password, bearer):
    api = APIClient()
    login = api.post("/api/auth/login", {"email": user.email, "password": password}, format="json")
    assert login.status_code == 200
    assert login["Cache-Control"] == "no-store"
    failed = api.post("/api/auth/login", {"email": user.email, "password": WRONG}, format="json")
    assert failed.status_code == 401
    assert failed["Cache-Control"] == "no-store"
    me = api.get("/api/users/me", **bearer(login.json()["access"]))
    assert me.status_code == 200
    assert me["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/auth/jwks", "/.well-known/jwks.json"])
def test_public_keys_stay_cacheable(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]

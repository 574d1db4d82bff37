"""The refresh token as an HttpOnly cookie for the browser app, beside the JSON body flow."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

COOKIE = "msh_refresh"


def browser() -> APIClient:
    """A client as the shop's own pages are: it sends the PUBLIC_URL as Origin."""
    return APIClient(HTTP_ORIGIN=settings.PUBLIC_URL)


def log_in(api: APIClient, user, password):
    response = api.post(
        "/api/auth/login", {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response


def test_login_sets_an_httponly_strict_cookie_scoped_to_auth(user, password):
    response = log_in(APIClient(), user, password)
    cookie = response.cookies[COOKIE]
    assert cookie.value == response.json()["refresh"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/auth/"
    assert not cookie["secure"]  # PUBLIC_URL is http in the tests
    assert int(cookie["max-age"]) > 3600


def test_login_sets_a_readable_session_hint_without_a_secret_beside_it(user, password):
    response = log_in(APIClient(), user, password)
    hint = response.cookies["msh_session"]
    assert hint.value == "1"
    assert not hint["httponly"]  # the browser app reads it: "a session may be restored"
    assert (hint["samesite"], hint["path"]) == ("Strict", "/")
    assert hint["max-age"] == response.cookies[COOKIE]["max-age"]


def test_cookie_is_secure_when_the_public_url_is_https(user, password):
    with override_settings(PUBLIC_URL="https://shop.example.com"):
        cookie = log_in(APIClient(), user, password).cookies[COOKIE]
    assert cookie["secure"] is True


def test_refresh_reads_the_cookie_when_the_body_has_no_token_and_rotates_it(user, password):
    api = browser()
    first = log_in(api, user, password).json()["refresh"]
    response = api.post("/api/auth/refresh", {}, format="json")  # the client sends the cookie
    assert response.status_code == 200, response.content
    rotated = response.cookies[COOKIE].value
    assert rotated == response.json()["refresh"] != first
    # The new cookie works again.
    assert api.post("/api/auth/refresh", format="json").status_code == 200
    # The old token is rotated out: reusing it (in the body) is refused, and as reuse means
    # theft, the whole session ends: the current cookie is refused too.
    assert (
        APIClient().post("/api/auth/refresh", {"refresh": first}, format="json").status_code == 401
    )
    assert api.post("/api/auth/refresh", format="json").status_code == 401


def test_the_body_wins_over_the_cookie(user, password):
    api = browser()
    log_in(api, user, password)
    api.cookies[COOKIE] = "not-a-token"
    body_token = log_in(APIClient(), user, password).json()["refresh"]
    response = api.post("/api/auth/refresh", {"refresh": body_token}, format="json")
    assert response.status_code == 200, response.content


def test_refresh_without_body_or_cookie_is_a_validation_error(assert_error):
    response = APIClient().post("/api/auth/refresh", {}, format="json")
    error = assert_error(response, 422, "validation_error")
    assert "refresh" in error["fields"]


def test_logout_with_the_cookie_revokes_it_and_clears_it(user, password):
    api = browser()
    token = log_in(api, user, password).json()["refresh"]
    response = api.post("/api/auth/logout", {}, format="json")
    assert response.status_code == 204
    cleared = response.cookies[COOKIE]
    assert cleared.value == "" and cleared["path"] == "/api/auth/"
    assert int(cleared["max-age"]) == 0
    hint = response.cookies["msh_session"]
    assert (hint.value, hint["path"], int(hint["max-age"])) == ("", "/", 0)
    assert (
        APIClient().post("/api/auth/refresh", {"refresh": token}, format="json").status_code == 401
    )


def test_logout_with_a_stale_cookie_still_clears_it(user, password):
    api = browser()
    log_in(api, user, password)
    api.cookies[COOKIE] = "stale"
    response = api.post("/api/auth/logout", {}, format="json")
    assert response.status_code == 204
    assert response.cookies[COOKIE].value == ""


def test_json_body_logout_still_refuses_an_invalid_token(assert_error):
    response = APIClient().post("/api/auth/logout", {"refresh": "nope"}, format="json")
    assert response.status_code == 401


# --- cookie-based calls must come from the shop's own pages (Origin, else Referer) ----------


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/logout"])
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_REFERER": "https://evil.example/page"},
    ],
    ids=["foreign-origin", "no-origin", "null-origin", "foreign-referer"],
)
def test_a_cookie_based_call_from_elsewhere_is_a_403_and_changes_nothing(
    user, password, path, headers, assert_error
):
    api = browser()
    token = log_in(api, user, password).json()["refresh"]
    api.defaults.pop("HTTP_ORIGIN")
    api.defaults.update(headers)
    assert_error(api.post(path, {}, format="json"), 403, "permission_denied")
    renewed = APIClient().post("/api/auth/refresh", {"refresh": token}, format="json")
    assert renewed.status_code == 200, renewed.content  # the session was neither used nor ended


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_REFERER": "http://127.0.0.1:8000/account"},
        {"HTTP_ORIGIN": "https://shop.example.com"},
    ],
    ids=["own-referer", "cors-allowed-origin"],
)
def test_a_cookie_based_refresh_from_our_pages_works(user, password, settings, headers):
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    api = browser()
    log_in(api, user, password)
    api.defaults.pop("HTTP_ORIGIN")
    api.defaults.update(headers)
    response = api.post("/api/auth/refresh", {}, format="json")
    assert response.status_code == 200, response.content


def test_a_body_based_refresh_needs_no_origin(user, password):
    token = log_in(APIClient(), user, password).json()["refresh"]
    response = APIClient().post("/api/auth/refresh", {"refresh": token}, format="json")
    assert response.status_code == 200, response.content

"""Login, the tokens' claims and header, refresh rotation, logout, and forged tokens refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from mainapp.accounts import sessions
from mainapp.accounts.keys import keyring
from mainapp.accounts.models import Session, User

pytestmark = pytest.mark.django_db


def post(api, path, body):
    return api.post(path, body, format="json")


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# --- login -------------------------------------------------------------------------------------


def test_login_returns_an_access_and_a_refresh_token_and_records_last_login(api, user, password):
    assert user.last_login is None
    response = post(api, "/api/auth/login", {"email": "ANN@example.com", "password": password})
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ann@example.com", "password": "wrong-Password-1"},
        {"email": "nobody@example.com", "password": "correct-Horse-battery-9"},
    ],
    ids=["wrong-password", "unknown-email"],
)
def test_wrong_credentials_are_a_401_invalid_credentials(api, user, body, assert_error):
    assert_error(post(api, "/api/auth/login", body), 401, "invalid_credentials")


def test_an_inactive_user_cannot_log_in(api, user, password, assert_error):
    user.is_active = False
    user.save()
    response = post(api, "/api/auth/login", {"email": user.email, "password": password})
    assert_error(response, 401, "invalid_credentials")


def test_login_with_missing_fields_is_a_validation_error(api, assert_error):
    error = assert_error(post(api, "/api/auth/login", {}), 422, "validation_error")
    assert set(error["fields"]) == {"email", "password"}


def test_login_ignores_a_stale_bearer_token(api, user, password):
    response = api.post(
        "/api/auth/login",
        {"email": user.email, "password": password},
        format="json",
        HTTP_AUTHORIZATION="Bearer not-a-token",
    )
    assert response.status_code == 200


def test_login_is_throttled_with_retry_after(api, user, password, settings, assert_error):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "3/min",
        },
    }
    for _ in range(3):
        post(api, "/api/auth/login", {"email": user.email, "password": "wrong-Password-1"})
    limited = post(api, "/api/auth/login", {"email": user.email, "password": password})
    assert_error(limited, 429, "rate_limited")
    assert 0 < int(limited["Retry-After"]) <= 60


# --- the tokens --------------------------------------------------------------------------------


def test_access_token_header_and_claims(user, tokens):
    header = jwt.get_unverified_header(tokens["access"])
    assert (header["alg"], header["typ"]) == ("RS256", "at+jwt")  # RFC 9068
    assert header["kid"] == keyring().active().kid
    assert jwt.get_unverified_header(tokens["refresh"])["typ"] == "rt+jwt"
    access = claims(tokens["access"])
    assert access["sub"] == str(user.pk)
    assert "email" not in access and "email" not in claims(tokens["refresh"])
    assert access["roles"] == ["customer"]
    assert access["iss"] == settings.JWT_ISSUER
    assert access["aud"] == settings.JWT_AUDIENCE
    assert access["token_type"] == "access"
    assert access["exp"] - access["iat"] == 300
    assert access["jti"] and access["jti"] != claims(tokens["refresh"])["jti"]
    assert claims(tokens["refresh"])["token_type"] == "refresh"


def test_staff_get_the_staff_role(make_user, login):
    staff = make_user("sam@example.com", is_staff=True)
    assert claims(login(staff.email)["access"])["roles"] == ["staff"]


def test_access_token_verifies_with_the_published_jwks(api, tokens):
    jwks = api.get("/api/auth/jwks").json()
    kid = jwt.get_unverified_header(tokens["access"])["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    verified = jwt.decode(
        tokens["access"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
    )
    assert verified["sub"]


def test_the_access_token_opens_the_profile(api, user, tokens, bearer):
    response = api.get("/api/users/me", **bearer(tokens["access"]))
    assert response.status_code == 200
    assert response.json()["id"] == str(user.pk)


def test_a_refresh_token_is_not_an_access_token(api, tokens, bearer, assert_error):
    assert_error(api.get("/api/users/me", **bearer(tokens["refresh"])), 401)


# --- forged and stale tokens -------------------------------------------------------------------


def forged_claims(user, **overrides) -> dict:
    now = int(time.time())
    return {
        "sub": str(user.pk),
        "roles": ["staff"],
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "token_type": "access",
        **overrides,
    }


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def real_key():
    key = keyring().active()
    return key.private_key, key.kid


def test_a_token_made_with_the_real_key_is_accepted(api, user, real_key, bearer):
    private_key, kid = real_key
    token = jwt.encode(forged_claims(user), private_key, algorithm="RS256", headers=head(kid))
    assert api.get("/api/users/me", **bearer(token)).status_code == 200


def head(kid: str, typ: str = "at+jwt") -> dict:
    return {"kid": kid, "typ": typ}


def _signed(user, private_key, kid, drop: str = "", typ: str = "at+jwt", **overrides):
    payload = forged_claims(user, **overrides)
    payload.pop(drop, None)
    return jwt.encode(payload, private_key, algorithm="RS256", headers=head(kid, typ))


def _other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _alg_none(user, kid):
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(forged_claims(user))}."


def _hs256_with_public_key(user, private_key, kid):
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64(forged_claims(user))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _expired(user, key, kid):
    past = int(time.time()) - 3600
    return _signed(user, key, kid, iat=past, exp=past + 300)


FORGERIES = {
    "another-key-same-kid": lambda user, key, kid: _signed(user, _other_key(), kid),
    "unknown-kid": lambda user, key, kid: _signed(user, _other_key(), "20990101T000000Z"),
    "no-kid": lambda user, key, kid: jwt.encode(forged_claims(user), key, algorithm="RS256"),
    "expired": _expired,
    "alg-none": lambda user, key, kid: _alg_none(user, kid),
    "hs256-public-key": _hs256_with_public_key,
    "wrong-audience": lambda user, key, kid: _signed(user, key, kid, aud="someone-else"),
    "wrong-issuer": lambda user, key, kid: _signed(user, key, kid, iss="https://evil.example"),
    "no-jti": lambda user, key, kid: _signed(user, key, kid, drop="jti"),
    "no-iat": lambda user, key, kid: _signed(user, key, kid, drop="iat"),
    "no-exp": lambda user, key, kid: _signed(user, key, kid, drop="exp"),
    "no-sub": lambda user, key, kid: _signed(user, key, kid, drop="sub"),
    "refresh-type": lambda user, key, kid: _signed(user, key, kid, token_type="refresh"),
    # RFC 9068: the header says what the token is; the claims alone do not make it one.
    "refresh-typ-header": lambda user, key, kid: _signed(user, key, kid, typ="rt+jwt"),
    "plain-jwt-typ": lambda user, key, kid: _signed(user, key, kid, typ="JWT"),
    "garbage": lambda user, key, kid: "a.b.c",
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_or_stale_tokens_are_refused(api, user, real_key, forgery, bearer, assert_error):
    token = FORGERIES[forgery](user, *real_key)
    error = assert_error(api.get("/api/users/me", **bearer(token)), 401)
    assert error["code"] == "invalid_token"


def test_a_deactivated_users_access_token_is_refused(api, user, tokens, bearer, assert_error):
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(api.get("/api/users/me", **bearer(tokens["access"])), 401)


# --- refresh and logout ------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api, tokens, bearer, assert_error):
    response = post(api, "/api/auth/refresh", {"refresh": tokens["refresh"]})
    assert response.status_code == 200, response.content
    fresh = response.json()
    assert set(fresh) == {"access", "refresh"}
    assert fresh["refresh"] != tokens["refresh"]
    assert api.get("/api/users/me", **bearer(fresh["access"])).status_code == 200

    reused = post(api, "/api/auth/refresh", {"refresh": tokens["refresh"]})
    assert_error(reused, 401, "invalid_token")


def test_refresh_token_reuse_revokes_the_whole_family(api, user, login, bearer, assert_error):
    """Reuse means theft (OAuth 2.0 Security BCP): the successor and its access token stop,
    another login of the same user does not."""
    tokens, other = login(user.email), login(user.email)
    fresh = post(api, "/api/auth/refresh", {"refresh": tokens["refresh"]}).json()
    assert claims(fresh["refresh"])["sid"] == claims(tokens["refresh"])["sid"]
    assert api.get("/api/users/me", **bearer(fresh["access"])).status_code == 200

    assert_error(post(api, "/api/auth/refresh", {"refresh": tokens["refresh"]}), 401)
    assert_error(post(api, "/api/auth/refresh", {"refresh": fresh["refresh"]}), 401)
    assert_error(api.get("/api/users/me", **bearer(fresh["access"])), 401, "invalid_token")
    assert Session.objects.get(sid=claims(fresh["access"])["sid"]).revoked_at is not None
    assert api.get("/api/users/me", **bearer(other["access"])).status_code == 200
    assert post(api, "/api/auth/refresh", {"refresh": other["refresh"]}).status_code == 200


def test_every_token_of_a_login_carries_its_session_id(user, login):
    first, second = login(user.email), login(user.email)
    sid = claims(first["access"])["sid"]
    assert claims(first["refresh"])["sid"] == sid
    assert str(uuid.UUID(sid)) == sid
    assert claims(second["access"])["sid"] != sid
    assert Session.objects.get(sid=sid).user == user


def test_refresh_carries_the_users_current_roles(api, user, tokens):
    user.is_staff = True  # made staff in the admin
    user.save()
    fresh = post(api, "/api/auth/refresh", {"refresh": tokens["refresh"]}).json()
    for token in fresh.values():
        assert claims(token)["roles"] == ["staff"]
    access = claims(fresh["access"])
    assert access["exp"] - access["iat"] == 300


def test_an_access_token_cannot_refresh(api, tokens, assert_error):
    assert_error(post(api, "/api/auth/refresh", {"refresh": tokens["access"]}), 401)


def test_a_deactivated_user_cannot_refresh(api, user, tokens, assert_error):
    user.is_active = False
    user.save()
    assert_error(post(api, "/api/auth/refresh", {"refresh": tokens["refresh"]}), 401)


def test_refresh_of_garbage_or_nothing(api, assert_error):
    assert_error(post(api, "/api/auth/refresh", {"refresh": "nope"}), 401, "invalid_token")
    error = assert_error(post(api, "/api/auth/refresh", {}), 422, "validation_error")
    assert set(error["fields"]) == {"refresh"}


def test_logout_revokes_the_refresh_token(api, tokens, bearer, assert_error):
    assert api.get("/api/users/me", **bearer(tokens["access"])).status_code == 200
    response = post(api, "/api/auth/logout", {"refresh": tokens["refresh"]})
    assert response.status_code == 204, response.content
    assert_error(api.get("/api/users/me", **bearer(tokens["access"])), 401, "invalid_token")
    assert_error(post(api, "/api/auth/refresh", {"refresh": tokens["refresh"]}), 401)
    assert_error(post(api, "/api/auth/logout", {"refresh": tokens["refresh"]}), 401)


def test_logout_of_an_invalid_token_is_a_401(api, assert_error):
    assert_error(post(api, "/api/auth/logout", {"refresh": "x.y.z"}), 401, "invalid_token")


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_one_new_pair(make_user, login):
    refresh = login(make_user("race@example.com").email)["refresh"]
    barrier = threading.Barrier(4)
    results: list[int] = []

    def attempt() -> None:
        try:
            barrier.wait()
            results.append(
                APIClient()
                .post("/api/auth/refresh", {"refresh": refresh}, format="json")
                .status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 401, 401, 401]


def test_revoke_all_ends_every_session(make_user, login, api, assert_error):
    user = make_user("multi@example.com")
    first, second = login(user.email), login(user.email)
    assert sessions.revoke_all(user) == 2
    for pair in (first, second):
        assert_error(post(api, "/api/auth/refresh", {"refresh": pair["refresh"]}), 401)

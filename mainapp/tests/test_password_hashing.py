"""Passwords are hashed with Argon2id at OWASP's cost (m = 19 MiB, t = 2, p = 1); a hash made
with Django's heavier defaults still logs in, and is re-hashed at the new cost on that login."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher

OWASP = "v=19$m=19456,t=2,p=1$"


def test_new_passwords_get_owasp_argon2id_parameters(user):
    assert user.password.startswith("argon2$argon2id$" + OWASP), user.password


def test_a_hash_with_djangos_defaults_logs_in_and_is_upgraded(api, user, password):
    old = Argon2PasswordHasher().encode(password, Argon2PasswordHasher().salt())
    assert "m=102400,t=2,p=8" in old  # Django's own parameters
    user.password = old
    user.save(update_fields=["password"])
    assert identify_hasher(old).must_update(old)

    response = api.post(
        "/api/auth/login", {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$" + OWASP), user.password
    assert user.check_password(password)


def test_a_wrong_password_leaves_an_old_hash_alone(api, user, password):
    old = Argon2PasswordHasher().encode(password, Argon2PasswordHasher().salt())
    user.password = old
    user.save(update_fields=["password"])
    response = api.post(
        "/api/auth/login", {"email": user.email, "password": "not-it-at-all"}, format="json"
    )
    assert response.status_code == 401
    user.refresh_from_db()
    assert user.password == old

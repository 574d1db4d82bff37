"""mainapp tests run against a real PostgreSQL and Redis started for the session
(``msh_servers`` in pytest.ini)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from devstack.assertions import assert_error as check_error
from mainapp.accounts.keys import ensure_key
from mainapp.accounts.models import User

PASSWORD = "correct-Horse-battery-9"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters live in the (real) Redis cache; each test starts from zero."""
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _jwt_signing_key() -> None:
    """The plugin hands over an empty key directory; tokens need a key to sign with."""
    ensure_key(Path(settings.JWT_PRIVATE_KEYS_DIR))


@pytest.fixture(autouse=True)
def _plain_static_files(settings, tmp_path_factory) -> None:
    """Admin pages name static files; the manifest storage would need collectstatic first."""
    settings.STATIC_ROOT = tmp_path_factory.getbasetemp() / "static"
    settings.STATIC_ROOT.mkdir(exist_ok=True)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    counter = iter(range(1_000_000))

    def make(email: str | None = None, password: str = PASSWORD, **extra: Any) -> User:
        email = email or f"user{next(counter)}@example.com"
        return User.objects.create_user(email, password, **extra)

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user("ann@example.com", name="Ann")


# Helpers are fixtures: with --import-mode=importlib, test modules cannot import conftest.


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def login() -> Callable[..., dict[str, str]]:
    """Log in through the API; returns {"access", "refresh"}."""

    def log_in(email: str, password: str = PASSWORD) -> dict[str, str]:
        response = APIClient().post(
            "/api/auth/login", {"email": email, "password": password}, format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()

    return log_in


@pytest.fixture
def tokens(login, user) -> dict[str, str]:
    return login(user.email)


@pytest.fixture
def bearer() -> Callable[[str], dict[str, str]]:
    return lambda token: {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def assert_error() -> Callable[..., dict]:
    return check_error

"""Small steps shared by the whole-stack tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

PASSWORD = "correct-Horse-battery-9"


def new_email() -> str:
    return f"shopper-{uuid.uuid4().hex[:12]}@example.com"


def register(client: httpx.Client, email: str | None = None) -> dict:
    email = email or new_email()
    response = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()


def login(client: httpx.Client, email: str) -> dict:
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The platform's one error shape: {"error": {"code", "message", ["fields"]}}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def eventually(check: Callable[[], object], timeout: float = 20, interval: float = 0.2):
    """Poll ``check`` until it returns something truthy; return it or fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {check.__doc__ or check}")
        time.sleep(interval)

"""Throttles that cannot be dodged, and answers no cache keeps, seen from outside.

mainapp believes X-Forwarded-For only from its TRUSTED_PROXIES (natively: the gateway, on
127.0.0.1). A client connecting from another loopback address (127.0.0.2...) stands for a
machine that reached mainapp's port without the gateway. The stack runs with generous limits,
so these tests start a second mainapp (same databases) with a login limit of 3 a minute, and a
gateway in front of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from helpers import PASSWORD, bearer, new_email, register, start_gateway_process

from devstack.processes import ServiceProcess
from devstack.servers import free_port
from devstack.stack import wait_healthy

LIMIT = 3
WRONG = "wrong-Password-1"


def from_address(url: str, source: str) -> httpx.Client:
    """A client whose connections come from ``source`` (a loopback address other than ours)."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, timeout=15, transport=transport)


@pytest.fixture(scope="module")
def strict_mainapp(stack) -> Iterator[str]:
    """A second mainapp as the launcher starts it, with a login limit of 3 a minute."""
    spec = stack.processes["mainapp"].spec
    port = str(free_port())
    argv = list(spec.argv)
    argv[argv.index("--port") + 1] = port
    argv[argv.index("--workers") + 1] = "1"
    strict = {"LOGIN_THROTTLE_RATE": f"{LIMIT}/min", "REGISTER_THROTTLE_RATE": f"{LIMIT}/min"}
    spec = replace(spec, name="mainapp-strict", argv=tuple(argv), env={**spec.env, **strict})
    process = ServiceProcess(spec, stack.env, stack.processes["mainapp"].log_path.parent)
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/health", timeout=60, is_alive=lambda: process.alive)
        yield url
    finally:
        process.stop()


@pytest.fixture(scope="module")
def strict_gateway(stack, strict_mainapp) -> Iterator[str]:
    url, process = start_gateway_process(stack, "gateway-strict", MAINAPP_URL=strict_mainapp)
    try:
        yield url
    finally:
        process.stop()


def login_statuses(client: httpx.Client, rotate: bool) -> list[int]:
    """LIMIT + 1 wrong logins, each for another account, optionally claiming another address."""
    statuses = []
    for n in range(LIMIT + 1):
        headers = {"X-Forwarded-For": f"203.0.113.{n}"} if rotate else {}
        response = client.post(
            "/api/auth/login", json={"email": new_email(), "password": WRONG}, headers=headers
        )
        statuses.append(response.status_code)
    return statuses


def test_a_direct_client_rotating_x_forwarded_for_is_throttled_as_one(strict_mainapp):
    with from_address(strict_mainapp, "127.0.0.2") as client:
        assert login_statuses(client, rotate=True) == [401] * LIMIT + [429]


def test_clients_through_the_gateway_are_told_apart_by_their_real_address(strict_gateway):
    with from_address(strict_gateway, "127.0.0.3") as first:
        assert login_statuses(first, rotate=True) == [401] * LIMIT + [429]
    with from_address(strict_gateway, "127.0.0.4") as second:
        response = second.post("/api/auth/login", json={"email": new_email(), "password": WRONG})
    assert response.status_code == 401  # another client: its own window


def staff_member(stack, client: httpx.Client) -> str:
    """A staff account of this test's own: other tests' admin logins count against the shared
    admin's window (every attempt counts, per account, across mainapp processes)."""
    import psycopg

    email = register(client, new_email())["email"]
    with psycopg.connect(stack.env["MAINAPP_DATABASE_URL"], autocommit=True) as db:
        db.execute("UPDATE accounts_user SET is_staff = true WHERE email = %s", (email,))
    return email


def test_admin_login_is_throttled_even_for_the_right_password(stack, client, strict_gateway):
    email = staff_member(stack, client)
    with from_address(strict_gateway, "127.0.0.5") as browser:
        page = browser.get("/admin/login/?next=/admin/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

        def attempt(password: str) -> httpx.Response:
            return browser.post(
                "/admin/login/?next=/admin/",
                data={
                    "username": email,
                    "password": password,
                    "csrfmiddlewaretoken": token,
                    "next": "/admin/",
                },
                headers={"Referer": f"{strict_gateway}/admin/login/", "Origin": strict_gateway},
            )

        signed_in = attempt(PASSWORD)  # the right password works, and counts
        assert signed_in.status_code == 302, signed_in.text
        assert browser.get("/admin/").status_code == 200
        browser.cookies.clear()
        page = browser.get("/admin/login/?next=/admin/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        assert [attempt(WRONG).status_code for _ in range(LIMIT - 1)] == [200] * (LIMIT - 1)
        refused = attempt(PASSWORD)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many login attempts" in refused.text
        assert browser.get("/admin/").status_code == 302  # still not logged in


def test_tokens_and_personal_data_are_no_store_at_the_gateway(client):
    email = register(client, new_email())["email"]
    signed_in = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.headers["cache-control"] == "no-store"
    access = signed_in.json()["access"]
    for path in ("/api/users/me", "/api/cart", "/api/orders"):
        response = client.get(path, headers=bearer(access))
        assert response.status_code == 200, (path, response.text)
        assert response.headers["cache-control"] == "no-store", path

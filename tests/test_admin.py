"""The Django admin through the gateway, with its own session login and static files."""

from __future__ import annotations

import re

from helpers import new_email, register


def admin_login(stack, client) -> None:
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/admin/login/?next=/admin/",
        data={
            "username": stack.env["ADMIN_EMAIL"],
            "password": stack.env["ADMIN_PASSWORD"],
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        },
        headers={"Referer": f"{stack.url}/admin/login/", "Origin": stack.url},
    )
    assert response.status_code == 302, response.text[:2000]
    assert response.headers["location"].endswith("/admin/")


def test_admin_logs_in_and_finds_a_user(stack, client):
    email = register(client, new_email())["email"]
    admin_login(stack, client)

    home = client.get("/admin/")
    assert home.status_code == 200
    assert "Site administration" in home.text
    users = client.get("/admin/accounts/user/", params={"q": email})
    assert users.status_code == 200
    assert email in users.text


def test_admin_static_files_are_served(client):
    response = client.get("/admin/login/")
    stylesheet = re.search(r'href="(/static/admin/css/[^"]+\.css)"', response.text).group(1)
    css = client.get(stylesheet)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_wrong_admin_password_stays_on_the_login_page(stack, client):
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/admin/login/",
        data={
            "username": stack.env["ADMIN_EMAIL"],
            "password": "wrong",
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": f"{stack.url}/admin/login/", "Origin": stack.url},
    )
    assert response.status_code == 200
    assert "Please enter the correct" in response.text

"""The notifications socket in real Chromium: an order's confirmation and staff announcements
show up without reloading, nobody else hears a customer's order, and a session revoked elsewhere
logs the tab out."""

from __future__ import annotations

import contextlib

import pytest
from helpers import PASSWORD, login, new_product, place_order, register, staff_token
from playwright.sync_api import Page, expect
from test_browser_shop import log_in
from test_realtime import admin_session, announce

pytestmark = pytest.mark.timeout(120)


def toasts(page: Page):
    return page.get_by_role("region", name="Notifications").get_by_role("status")


def socket_open(page: Page) -> None:
    """Logged in, the tab opens its socket; wait until it is open (the bell says so): a message
    sent before would not reach it (delivery is at most once)."""
    bell = page.get_by_role("button", name="Notifications")
    expect(bell).to_have_attribute("data-live", "true")


def test_a_customer_sees_the_order_confirmed_and_another_customer_does_not(
    stack, client, browser_page
):
    staff = staff_token(client, stack)
    product = new_product(client, staff, stock=3)
    buyer, bystander = register(client), register(client)
    buyer_page, bystander_page = browser_page(), browser_page()
    log_in(buyer_page, buyer["email"])
    log_in(bystander_page, bystander["email"])
    socket_open(buyer_page)
    socket_open(bystander_page)

    token = login(client, buyer["email"])["access"]
    order = place_order(client, token, [(product["id"], 1)]).json()
    expect(toasts(buyer_page)).to_contain_text(f"Order {order['id'][:8]} confirmed")
    with contextlib.closing(admin_session(stack)) as admin:
        announce(stack, admin, "Fresh stock arrived", "everyone")
    # The bystander hears the announcement, and it is all they hear.
    expect(toasts(bystander_page)).to_contain_text("Fresh stock arrived")
    expect(toasts(bystander_page)).to_have_count(1)


def test_a_staff_announcement_reaches_two_browsers(stack, client, browser_page):
    pages = [browser_page(), browser_page()]  # two browsers: two contexts, cookies apart
    for page in pages:
        log_in(page, register(client)["email"])
        socket_open(page)
    with contextlib.closing(admin_session(stack)) as admin:
        announce(stack, admin, "The shop closes at six today", "everyone")
    for page in pages:
        expect(toasts(page)).to_contain_text("The shop closes at six today")


def test_a_session_revoked_elsewhere_logs_the_tab_out(stack, client, browser_page):
    user = register(client)
    page = browser_page()
    log_in(page, user["email"])
    socket_open(page)
    token = login(client, user["email"])["access"]
    # Changing the password elsewhere ends every session, this tab's too.
    response = client.post(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": PASSWORD + "-new"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 204, response.text
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")
    ).to_be_visible()

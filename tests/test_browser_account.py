"""A shopper's account in a real browser: reset a forgotten password through the e-mailed link,
edit the profile, change cart quantities and remove a line, cancel an order, delete the
account."""

from __future__ import annotations

import email
import re

import pytest
from helpers import eventually, new_product, register, staff_token
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(120)

NEW_PASSWORD = "a-Brand-new-passphrase-42"


def nav(page: Page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def reset_token(stack, address: str) -> str | None:
    for text in stack.mails_to(address):
        message = email.message_from_string(text)
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if payload:
                found = re.search(rb"/reset-password\?token=([^\s\"'<>]+)", payload)
                if found:
                    return found.group(1).decode()
    return None


def test_reset_password_profile_cart_cancel_and_delete_account(stack, client, browser_page):
    product = new_product(client, staff_token(client, stack), stock=5, price="12.50")
    address = register(client)["email"]
    page = browser_page()

    # Forgotten password: the e-mailed link sets a new one.
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail").fill(address)
    page.get_by_role("button", name="E-mail me a link").click()
    expect(page.get_by_role("status")).to_contain_text("reset link has been sent")
    token = eventually(lambda: reset_token(stack, address))
    page.goto(f"/reset-password?token={token}")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password was changed.")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Log in").click()
    page.get_by_label("E-mail").fill(address)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # The session survives a reload (the HttpOnly refresh cookie; scripts never see it).
    page.reload()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert "msh_refresh" not in page.evaluate("document.cookie")

    # Profile.
    nav(page, address).click()
    expect(page.get_by_label("E-mail")).to_have_value(address)  # the profile has loaded
    page.get_by_label("Name").fill("Renamed Shopper")
    expect(page.get_by_label("Name")).to_have_value("Renamed Shopper")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(nav(page, "Renamed Shopper")).to_be_visible()

    # Cart: change a quantity, remove the line.
    page.goto(f"/products/{product['slug']}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    nav(page, "Cart").click()
    quantity = page.get_by_label(f"Quantity of {product['name']}")
    quantity.fill("3")
    quantity.press("Tab")
    expect(page.get_by_test_id("subtotal")).to_contain_text("37.50")
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()

    # Order, then cancel it.
    page.goto(f"/products/{product['slug']}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    nav(page, "Cart").click()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("confirmed", timeout=30_000)
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("cancelled")

    # Delete the account: logged out, and the password no longer works.
    nav(page, "Renamed Shopper").click()
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_label("Your password, to delete the account").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Yes, delete my account").click()
    expect(nav(page, "Log in")).to_be_visible()
    response = client.post("/api/auth/login", json={"email": address, "password": NEW_PASSWORD})
    assert response.status_code == 401

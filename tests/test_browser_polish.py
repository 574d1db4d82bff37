"""The shop as a first-time visitor meets it (headless Chromium through the gateway): no console
error and no doomed refresh call on any page, a meta description, alt text on every product
image, a real not-found page; and a signed-in shopper's session survives a reload."""

from __future__ import annotations

import re
import uuid

import pytest
from helpers import new_email, register
from playwright.sync_api import Page, expect
from test_browser_shop import log_in, make_products

pytestmark = pytest.mark.timeout(120)


def watch(page: Page) -> tuple[list[str], list[str]]:
    """Console errors (and uncaught exceptions), and the refresh calls the page makes."""
    errors: list[str] = []
    refreshes: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: "/api/auth/refresh" in r.url and refreshes.append(r.url))
    return errors, refreshes


def test_an_anonymous_visitor_meets_no_error_and_no_refresh_call(stack, client, browser_page):
    [product] = make_products(
        client,
        stack,
        [{"name": f"Quiet lamp {uuid.uuid4().hex[:6]}", "price": "12.00", "stock": 3}],
    )
    page = browser_page()
    errors, refreshes = watch(page)
    for path in ("/", f"/products/{product['slug']}", "/login"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        description = page.locator('meta[name="description"]').get_attribute("content")
        assert description and len(description) > 40, path
        for image in page.get_by_role("img").all():
            assert image.get_attribute("alt"), (path, image.get_attribute("src"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert (errors, refreshes) == ([], [])


def test_a_signed_in_shopper_is_still_signed_in_after_a_reload(stack, client, browser_page):
    email = new_email()
    register(client, email)
    page = browser_page()
    log_in(page, email)
    errors, refreshes = watch(page)
    page.reload()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert len(refreshes) == 1  # the HttpOnly cookie restored the session
    assert errors == []


def test_an_unknown_address_shows_the_not_found_page(browser_page):
    page = browser_page()
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("link", name="Back to the shop").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))


def test_attributes_show_their_categorys_labels_and_values_as_words(browser_page):
    """A demo coffee: "Weight (g)" and "Organic: Yes", not weight_g and true."""
    page = browser_page()
    page.goto("/products/ethiopia-yirgacheffe-coffee-beans")
    details = page.get_by_role("heading", name="Details").locator("xpath=..")
    expect(details.get_by_text("Weight (g)", exact=True)).to_be_visible()
    expect(details.get_by_text("Organic", exact=True)).to_be_visible()
    expect(details.get_by_text("Yes", exact=True)).to_be_visible()
    expect(details.get_by_text("weight_g")).to_have_count(0)
    expect(details.get_by_text("true", exact=True)).to_have_count(0)

"""The SPA under its Content-Security-Policy, in a real browser: the policy is sent, enforced
(an injected inline script does not run), and the shop works under it (every browser test's
pages fail on any CSP violation: see ``browser_page`` in conftest.py)."""

from __future__ import annotations

import pytest
from helpers import register
from playwright.sync_api import expect
from test_browser_shop import log_in, make_products

pytestmark = pytest.mark.timeout(120)

POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; img-src 'self' data:"
)

INLINE_SCRIPT = """() => {
    const script = document.createElement("script");
    script.textContent = "window.__injected = true";
    document.body.appendChild(script);
}"""
INLINE_HANDLER = """() => {
    const image = document.createElement("img");
    image.setAttribute("onerror", "window.__handler = true");
    image.setAttribute("src", "/assets/missing.png");
    document.body.appendChild(image);
}"""


def blocked(text: str) -> bool:
    return "Content Security Policy" in text and "script-src" in text


def test_the_spa_sends_the_policy_on_documents_and_assets(client):
    page = client.get("/products")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == POLICY
    script = next(part for part in page.text.split('"') if part.startswith("/assets/"))
    asset = client.get(script)
    assert asset.status_code == 200
    assert asset.headers["content-security-policy"] == POLICY


def test_the_shop_works_under_the_policy_and_injected_script_does_not_run(
    stack, client, browser_page, request
):
    (product,) = make_products(client, stack, [{"name": "CSP lamp", "price": "9.00", "stock": 3}])
    email = register(client)["email"]
    page = browser_page()
    log_in(page, email)
    page.goto(f"/products/{product['slug']}")
    expect(page.get_by_role("heading", name=product["name"])).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    assert browser_page.csp_violations == []

    # What an XSS would inject: refused by the browser, reported, never run.
    request.node.csp_violations_expected = True
    with page.expect_console_message(lambda message: blocked(message.text)):
        page.evaluate(INLINE_SCRIPT)
    with page.expect_console_message(lambda message: blocked(message.text)):
        page.evaluate(INLINE_HANDLER)
    assert page.evaluate("[window.__injected, window.__handler]") == [None, None]

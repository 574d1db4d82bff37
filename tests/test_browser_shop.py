"""The shop in a real browser (headless Chromium) through the gateway: a new shopper searches,
filters, fills a cart, checks out and watches the order turn confirmed live; a shopper whose
order cannot be filled sees it rejected with the reason."""

from __future__ import annotations

import re
import uuid

import pytest
from helpers import PASSWORD, bearer, new_email, receive_stock, register, staff_token
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(120)


def make_products(client, stack, specs: list[dict], category: str | None = None) -> list[dict]:
    """Products created by staff through the API (the browser tests' fixtures)."""
    staff = staff_token(client, stack)
    slug = category or f"browser-{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/catalog/categories",
        json={"name": f"Browser {slug}", "slug": slug},
        headers=bearer(staff),
    )
    assert response.status_code in (201, 409), response.text
    products = []
    for spec in specs:
        stock = spec.pop("stock", 0)
        body = {"sku": f"B-{uuid.uuid4().hex[:10]}", "category": slug, **spec}
        response = client.post("/api/catalog/products", json=body, headers=bearer(staff))
        assert response.status_code == 201, response.text
        product = response.json()
        if stock:
            receive_stock(client, staff, product, stock)
        products.append(product)
    return products


def nav(page: Page, name: str):
    """A link of the main navigation."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def product_cards(page: Page):
    return page.get_by_role("list", name="Products").get_by_role("listitem")


def test_new_shopper_searches_filters_checks_out_and_sees_confirmed_live(
    stack, client, browser_page
):
    word = f"Zephyr{uuid.uuid4().hex[:6]}"
    desk, floor = make_products(
        client,
        stack,
        [
            {
                "name": f"{word} desk lamp",
                "price": "20.00",
                "attributes": {"color": "red"},
                "stock": 10,
            },
            {
                "name": f"{word} floor lamp",
                "price": "30.00",
                "attributes": {"color": "blue"},
                "stock": 10,
            },
        ],
    )
    make_products(client, stack, [{"name": f"{word} mug", "price": "8.00", "stock": 5}])
    page = browser_page()

    # Register: the app logs the new shopper in.
    page.goto("/register")
    page.get_by_label("Name").fill("Browser Shopper")
    page.get_by_label("E-mail").fill(new_email())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("link", name="Browser Shopper")).to_be_visible()

    # Search, then filter by category and attribute: all in the URL.
    page.get_by_label("Search").fill(word)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"[?&]q={word}"))
    expect(product_cards(page)).to_have_count(3)
    page.get_by_label("Category").select_option(desk["category"])
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(rf"category={desk['category']}"))
    expect(product_cards(page)).to_have_count(2)
    page.get_by_label("Name", exact=True).fill("color")
    page.get_by_label("Value").fill("red")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"attr\.color=red"))
    expect(product_cards(page)).to_have_count(1)
    # The back button restores the previous filters.
    page.go_back()
    expect(product_cards(page)).to_have_count(2)

    # Product pages: attributes, price, availability; add both to the cart.
    page.get_by_role("link", name=desk["name"]).click()
    expect(page.get_by_role("heading", name=desk["name"])).to_be_visible()
    # No label in its category: the name made readable.
    expect(page.get_by_text("Color", exact=True)).to_be_visible()
    expect(page.get_by_test_id("availability")).to_have_text("10 available")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name=floor["name"]).click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()

    nav(page, "Cart").click()
    expect(page.get_by_role("list", name="Cart items").get_by_role("listitem")).to_have_count(2)
    expect(page.get_by_test_id("subtotal")).to_contain_text("80.00")

    # Checkout with the catalog's worker stopped: the order stays pending until it is back,
    # then the page turns confirmed by itself (the SSE stream), in the same document.
    page.evaluate("window.__sameDocument = true")
    worker = stack.processes["catalog-worker"]
    worker.stop()
    try:
        page.get_by_role("button", name="Place order").click()
        expect(page.get_by_test_id("order-status")).to_have_text("pending")
        page.wait_for_timeout(500)
    finally:
        stack.restart("catalog-worker")
    expect(page.get_by_test_id("order-status")).to_have_text("confirmed", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    order_url = page.url

    # History lists it; the detail page opens from there.
    nav(page, "Orders").click()
    orders = page.get_by_role("list", name="Orders").get_by_role("listitem")
    expect(orders).to_have_count(1)
    expect(orders.first.get_by_test_id("order-status")).to_have_text("confirmed")
    orders.first.get_by_role("link").click()
    expect(page).to_have_url(order_url)

    # Logging out ends the session; a private page then asks to log in.
    page.get_by_role("button", name="Log out").click()
    expect(nav(page, "Log in")).to_be_visible()
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_an_order_that_cannot_be_filled_is_shown_rejected_with_the_reason_on_a_phone(
    stack, client, browser_page
):
    (product,) = make_products(
        client, stack, [{"name": f"Last one {uuid.uuid4().hex[:6]}", "price": "15.00", "stock": 1}]
    )
    email = register(client)["email"]
    page = browser_page(390, 844)  # a phone
    log_in_on_phone(page, email)
    page.goto(f"/products/{product['slug']}")
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.get_by_role("button", name="Go to the cart").click()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("rejected", timeout=30_000)
    expect(page.get_by_test_id("reasons")).to_contain_text(
        f"{product['name']}: insufficient stock (requested 3, available 1)"
    )
    # On a phone the navigation folds behind a labelled menu button.
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(nav(page, "Orders")).to_be_hidden()
    menu.click()
    expect(nav(page, "Orders")).to_be_visible()


def log_in_on_phone(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))

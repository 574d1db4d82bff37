"""Staff in a real browser: create a product with attributes, receive stock, find it in the
shop; the sales report shows a confirmed order. And the API's error next to its field."""

from __future__ import annotations

import re
import uuid

import pytest
from helpers import (
    PASSWORD,
    bearer,
    new_product,
    place_order,
    register,
    shopper,
    staff_token,
    wait_settled,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(120)


def nav(page: Page, name: str):
    """A link of the main navigation."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_staff_create_a_product_with_attributes_receive_stock_and_it_is_in_the_shop(
    stack, client, browser_page
):
    staff = staff_token(client, stack)
    category = f"staff-{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/catalog/categories",
        json={"name": f"Staff {category}", "slug": category},
        headers=bearer(staff),
    )
    assert response.status_code == 201, response.text
    name = f"Walnut stool {uuid.uuid4().hex[:6]}"
    page = browser_page()
    log_in(page, stack.env["ADMIN_EMAIL"], stack.env["ADMIN_PASSWORD"])
    expect(nav(page, "Admin")).to_have_attribute("href", "/admin/")

    nav(page, "Products").click()
    page.get_by_role("link", name="New product").click()
    page.get_by_label("SKU").fill(f"W-{uuid.uuid4().hex[:8]}")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Price").fill("149.00")
    page.get_by_label("Category").select_option(category)
    for index, (key, value) in enumerate([("wood", "walnut"), ("height_cm", "45")], start=1):
        page.get_by_role("button", name="Add attribute").click()
        page.get_by_label(f"Attribute {index} name").fill(key)
        page.get_by_label(f"Attribute {index} value").fill(value)
    page.get_by_role("button", name="Create product").click()
    expect(page).to_have_url(re.compile(r"/staff/products/[^/]+$"))
    expect(page.get_by_test_id("stock-available")).to_have_text("0")

    page.get_by_label("Units received").fill("7")
    page.get_by_role("button", name="Record receipt").click()
    expect(page.get_by_test_id("stock-available")).to_have_text("7")

    # In the shop's search, with its attributes (numbers stay numbers).
    nav(page, "Shop").click()
    page.get_by_label("Search").fill(name)
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("link", name=name).click()
    expect(page.get_by_test_id("availability")).to_have_text("7 available")
    expect(page.get_by_text("walnut", exact=True)).to_be_visible()
    product_id = client.get("/api/catalog/products", params={"q": name}).json()["items"][0]["id"]
    assert client.get(f"/api/catalog/products/{product_id}").json()["attributes"] == {
        "wood": "walnut",
        "height_cm": 45,
    }

    # A shopper buys two; the sales report shows the confirmed order and the product on top.
    _, token = shopper(client)
    order = place_order(client, token, [(product_id, 2)]).json()
    assert wait_settled(client, token, order["id"])["status"] == "confirmed"
    nav(page, "Sales report").click()
    expect(page.get_by_test_id("report-summary")).to_contain_text("confirmed orders")
    expect(page.get_by_role("img", name=re.compile(r"Revenue in EUR per day"))).to_be_visible()
    expect(page.get_by_test_id("top-products")).to_contain_text(name)
    page.get_by_label("Group by").select_option("month")
    expect(page).to_have_url(re.compile(r"group_by=month"))
    expect(page.get_by_role("img", name=re.compile(r"per month"))).to_be_visible()


@pytest.mark.parametrize("viewport", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_a_wrong_password_shows_the_api_message_next_to_the_field(
    stack, client, browser_page, viewport
):
    email = register(client)["email"]
    page = browser_page(*viewport)
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD + "-wrong")
    page.get_by_role("button", name="Log in").click()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    message = client.post("/api/auth/login", json={"email": email, "password": "nope"}).json()
    expect(password).to_have_accessible_description(message["error"]["message"])
    expect(page).to_have_url(re.compile(r"/login$"))


def test_staff_upload_a_picture_and_the_shop_shows_it(stack, client, browser_page, tmp_path):
    """The file goes through the gateway to the catalog; the shop shows the thumbnail in lists
    and the picture on the product page, both from the catalog, metadata stripped."""
    from PIL import Image

    staff = staff_token(client, stack)
    product = new_product(client, staff, stock=3)
    photo = tmp_path / "stool.jpg"
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    Image.new("RGB", (640, 480), (90, 60, 30)).save(photo, "JPEG", exif=exif.tobytes())

    page = browser_page()
    log_in(page, stack.env["ADMIN_EMAIL"], stack.env["ADMIN_PASSWORD"])
    page.goto(f"/staff/products/{product['id']}")
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_value(product["name"])
    name.fill("Stool, renamed before the upload")  # an edit in progress, not saved yet
    page.get_by_label("Upload an image").set_input_files(photo)
    thumbnail = page.get_by_test_id("product-images").get_by_role("img")
    expect(thumbnail).to_have_count(1)
    # The upload keeps the edit and shows its picture among the form's image paths, so that
    # saving the form keeps the picture too.
    expect(name).to_have_value("Stool, renamed before the upload")
    image_paths = page.get_by_label("Image paths on this site", exact=False)
    expect(image_paths).to_have_value(re.compile(r"^/api/catalog/images/[0-9a-f]{32}$"))
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    saved = client.get(f"/api/catalog/products/{product['id']}").json()
    assert saved["name"] == "Stool, renamed before the upload"
    assert len(saved["images"]) == 1
    expect(thumbnail).to_have_attribute(
        "src", re.compile(r"^/api/catalog/images/[0-9a-f]{32}/thumbnail$")
    )
    expect(thumbnail).to_have_js_property("naturalWidth", 480)  # loaded, through the gateway

    [url] = client.get(f"/api/catalog/products/{product['id']}").json()["images"]
    served = client.get(url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert b"SpyCam" not in served.content
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get(url, headers={"If-None-Match": served.headers["etag"]}).status_code == 304

    page.goto(f"/products/{product['slug']}")
    picture = page.get_by_role("img", name=saved["name"])
    expect(picture).to_have_attribute("src", url)
    expect(picture).to_have_js_property("naturalWidth", 640)

    page.goto(f"/staff/products/{product['id']}")
    page.get_by_test_id("product-images").get_by_role("button", name="Remove").click()
    expect(page.get_by_text("No images yet.")).to_be_visible()
    assert client.get(url).status_code == 404

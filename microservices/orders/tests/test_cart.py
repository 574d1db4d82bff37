"""The cart: one per user, quantities capped, products checked against the catalog."""

from __future__ import annotations


def put(client, user, product_id, quantity):
    return client.put(
        f"/api/cart/items/{product_id}", json={"quantity": quantity}, headers=user.headers
    )


def test_an_empty_cart(client, user):
    assert client.get("/api/cart", headers=user.headers).json() == {
        "items": [],
        "priced": True,
        "currency": None,
        "subtotal": None,
    }


def test_items_are_set_replaced_and_removed_and_the_cart_is_priced(client, user):
    assert put(client, user, "p1", 1).status_code == 200
    put(client, user, "p2", 2)
    cart = put(client, user, "p1", 3).json()  # replaces, does not add
    assert cart["priced"] is True
    assert [
        (i["product_id"], i["quantity"], i["unit_price"], i["line_total"]) for i in cart["items"]
    ] == [
        ("p1", 3, "19.99", "59.97"),
        ("p2", 2, "5.50", "11.00"),
    ]
    assert cart["subtotal"] == "70.97" and cart["currency"] == "EUR"

    cart = put(client, user, "p1", 0).json()
    assert [i["product_id"] for i in cart["items"]] == ["p2"]
    assert client.delete("/api/cart", headers=user.headers).status_code == 204
    assert client.get("/api/cart", headers=user.headers).json()["items"] == []


def test_each_user_has_their_own_cart(client, user, new_user):
    put(client, user, "p1", 1)
    assert client.get("/api/cart", headers=new_user().headers).json()["items"] == []


def test_unknown_and_inactive_products_are_refused(client, user, catalog, assert_error):
    catalog.add("off", active=False)
    error = assert_error(put(client, user, "nope", 1), 422, "product_unavailable")
    assert error["fields"] == {"nope": ["unknown product"]}
    assert_error(put(client, user, "off", 1), 422, "product_unavailable")
    # removing does not need the catalog
    assert put(client, user, "nope", 0).status_code == 200


def test_quantities_and_distinct_products_are_capped(client, user, catalog, settings, assert_error):
    error = assert_error(
        put(client, user, "p1", settings.orders_max_quantity + 1), 400, "validation_error"
    )
    assert "quantity" in error["fields"]
    assert_error(put(client, user, "p1", -1), 400, "validation_error")
    assert_error(
        client.put("/api/cart/items/bad$id", json={"quantity": 1}, headers=user.headers),
        400,
        "validation_error",
    )
    for n in range(settings.orders_max_lines):
        catalog.add(f"x{n}")
        assert put(client, user, f"x{n}", 1).status_code == 200
    catalog.add("one-too-many")
    assert_error(put(client, user, "one-too-many", 1), 400, "too_many_lines")
    assert put(client, user, "x0", 2).status_code == 200  # changing one already in is fine


def test_with_the_catalog_down_the_cart_shows_unpriced_and_adding_is_503(
    client, user, catalog, assert_error
):
    put(client, user, "p1", 2)
    catalog.down = True
    cart = client.get("/api/cart", headers=user.headers).json()
    assert cart["priced"] is False
    assert cart["items"] == [
        {
            "product_id": "p1",
            "quantity": 2,
            "name": None,
            "unit_price": None,
            "currency": None,
            "line_total": None,
            "orderable": None,
        }
    ]
    assert_error(put(client, user, "p2", 1), 503, "catalog_unavailable")


def test_a_product_that_became_unavailable_is_flagged_in_the_cart(client, user, catalog):
    put(client, user, "p1", 1)
    put(client, user, "p2", 1)
    catalog.add("p2", active=False)
    cart = client.get("/api/cart", headers=user.headers).json()
    assert [i["orderable"] for i in cart["items"]] == [True, False]
    assert cart["subtotal"] == "19.99"

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


def test_items_are_set_replaced_and_removed_and_the_cart_is_priced(client, user, products):
    mug, towel = products["mug"], products["towel"]
    assert put(client, user, mug, 1).status_code == 200
    put(client, user, towel, 2)
    cart = put(client, user, mug, 3).json()  # replaces, does not add
    assert cart["priced"] is True
    assert [
        (i["product_id"], i["name"], i["quantity"], i["unit_price"], i["line_total"])
        for i in cart["items"]
    ] == [
        (mug, "Red mug", 3, "19.99", "59.97"),
        (towel, "Tea towel", 2, "5.50", "11.00"),
    ]
    assert cart["subtotal"] == "70.97" and cart["currency"] == "EUR"

    cart = put(client, user, mug, 0).json()
    assert [i["product_id"] for i in cart["items"]] == [towel]
    assert client.delete("/api/cart", headers=user.headers).status_code == 204
    assert client.get("/api/cart", headers=user.headers).json()["items"] == []


def test_each_user_has_their_own_cart(client, user, new_user, products):
    put(client, user, products["mug"], 1)
    assert client.get("/api/cart", headers=new_user().headers).json()["items"] == []


def test_unknown_and_inactive_products_are_refused(client, user, catalog, assert_error):
    off = catalog.add(name="Old mug", active=False)
    error = assert_error(put(client, user, "nope", 1), 422, "product_unavailable")
    assert error["fields"] == {"nope": ["unknown product"]}
    error = assert_error(put(client, user, off, 1), 422, "product_unavailable")
    assert error["fields"] == {off: ["product is not for sale"]}
    # removing does not need the catalog
    assert put(client, user, "nope", 0).status_code == 200


def test_quantities_and_distinct_products_are_capped(
    client, user, catalog, products, settings, assert_error
):
    mug = products["mug"]
    error = assert_error(
        put(client, user, mug, settings.orders_max_quantity + 1), 422, "validation_error"
    )
    assert "quantity" in error["fields"]
    assert_error(put(client, user, mug, -1), 422, "validation_error")
    assert_error(
        client.put("/api/cart/items/bad$id", json={"quantity": 1}, headers=user.headers),
        422,
        "validation_error",
    )
    ids = [catalog.add(stock=0) for _ in range(settings.orders_max_lines + 1)]
    *allowed, one_too_many = ids
    for product_id in allowed:
        assert put(client, user, product_id, 1).status_code == 200
    assert_error(put(client, user, one_too_many, 1), 422, "too_many_lines")
    assert put(client, user, allowed[0], 2).status_code == 200  # changing one already in is fine


def test_with_the_catalog_down_the_cart_shows_unpriced_and_adding_is_503(
    client, client_without_catalog, user, products, assert_error
):
    put(client, user, products["mug"], 2)
    cart = client_without_catalog.get("/api/cart", headers=user.headers).json()
    assert cart["priced"] is False
    assert cart["items"] == [
        {
            "product_id": products["mug"],
            "quantity": 2,
            "name": None,
            "unit_price": None,
            "currency": None,
            "line_total": None,
            "orderable": None,
        }
    ]
    assert_error(
        put(client_without_catalog, user, products["towel"], 1), 503, "catalog_unavailable"
    )
    # nothing changed
    assert [
        i["product_id"] for i in client.get("/api/cart", headers=user.headers).json()["items"]
    ] == [products["mug"]]


def test_a_product_that_became_unavailable_is_flagged_in_the_cart(client, user, catalog, products):
    put(client, user, products["mug"], 1)
    put(client, user, products["towel"], 1)
    catalog.update(products["towel"], active=False)
    cart = client.get("/api/cart", headers=user.headers).json()
    assert [i["orderable"] for i in cart["items"]] == [True, False]
    assert cart["subtotal"] == "19.99"

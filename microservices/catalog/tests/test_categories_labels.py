"""Categories name their products' attributes for people: labels set on creation and edit,
listed with the category, refused when unsafe."""

from __future__ import annotations

from catalog.seed import demo_catalog


def test_a_category_carries_attribute_labels_and_staff_edit_them(client, staff):
    body = {"name": "Tea", "slug": "tea-labels", "attribute_labels": {"weight_g": "Weight (g)"}}
    created = client.post("/api/catalog/categories", json=body, headers=staff)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["attribute_labels"] == {"weight_g": "Weight (g)"}

    changed = client.patch(
        "/api/catalog/categories/tea-labels",
        json={"attribute_labels": {"weight_g": "Net weight (g)", "origin": "Origin"}},
        headers=staff,
    )
    assert changed.status_code == 200, changed.get_json()
    listed = {c["slug"]: c for c in client.get("/api/catalog/categories").get_json()["items"]}
    assert listed["tea-labels"]["attribute_labels"] == {
        "weight_g": "Net weight (g)",
        "origin": "Origin",
    }
    assert listed["tea-labels"]["name"] == "Tea"


def test_labels_are_refused_when_unsafe_or_by_a_non_staff_caller(
    client, staff, customer, assert_error
):
    client.post("/api/catalog/categories", json={"name": "Mugs", "slug": "mugs"}, headers=staff)
    for labels in ({"$where": "x"}, {"a.b": "x"}, {"ok": ""}, {"ok": "bell\x07"}, {"ok": 3}):
        response = client.patch(
            "/api/catalog/categories/mugs", json={"attribute_labels": labels}, headers=staff
        )
        assert_error(response, 422, "validation_error")
    assert_error(
        client.patch("/api/catalog/categories/mugs", json={"name": "X"}, headers=customer), 403
    )
    assert_error(
        client.patch("/api/catalog/categories/nope", json={"name": "X"}, headers=staff), 404
    )
    assert_error(client.patch("/api/catalog/categories/mugs", json={}, headers=staff), 422)


def test_every_demo_attribute_has_a_label_in_its_category():
    catalog = demo_catalog()
    labels = {c["slug"]: c["attribute_labels"] for c in catalog["categories"]}
    for product in catalog["products"]:
        assert set(product["attributes"]) <= set(labels[product["category"]]), product["sku"]

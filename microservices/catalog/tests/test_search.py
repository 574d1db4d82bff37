"""Browsing and search: the text index, filters, sorting and capped pagination."""

from __future__ import annotations

import pytest


@pytest.fixture
def shop(store, make_product, category):
    store.categories.create("kitchen", "Kitchen")
    items = {
        "sweater": make_product(
            "Red wool sweater",
            price="79.00",
            stock=5,
            description="Warm merino jumper",
            attributes={"color": "red", "size": "M", "material": "merino wool"},
        ),
        "socks": make_product(
            "Wool socks",
            price="18.00",
            stock=0,
            description="Hiking socks",
            attributes={"color": "grey", "size": 42, "eco": True},
        ),
        "shirt": make_product(
            "Blue linen shirt",
            price="59.00",
            stock=2,
            description="Cool on hot days",
            attributes={"color": "blue", "size": "L", "details": {"collar": "button-down"}},
        ),
        "pan": make_product(
            "Cast iron skillet",
            price="39.00",
            stock=9,
            category="kitchen",
            attributes={"material": "cast iron", "diameter_cm": 26},
        ),
        "old": make_product("Old wool scarf", price="9.00", stock=3, active=False),
    }
    return {name: doc["_id"] for name, doc in items.items()}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_browse_lists_active_products_newest_first_with_a_total(client, shop):
    response = client.get("/api/catalog/products")
    body = response.get_json()
    assert body["total"] == 4 and body["page"] == 1 and body["pages"] == 1
    assert ids(response) == [shop["pan"], shop["shirt"], shop["socks"], shop["sweater"]]
    assert "pending" not in body["items"][0] and "search_text" not in body["items"][0]


def test_search_matches_every_word_in_name_description_and_attribute_values(client, shop):
    assert set(ids(client.get("/api/catalog/products?q=wool"))) == {shop["sweater"], shop["socks"]}
    assert ids(client.get("/api/catalog/products?q=merino")) == [shop["sweater"]]  # attribute
    assert ids(client.get("/api/catalog/products?q=button-down")) == [shop["shirt"]]  # nested
    assert ids(client.get("/api/catalog/products?q=hiking")) == [shop["socks"]]  # description
    assert ids(client.get("/api/catalog/products?q=RED+Wool")) == [shop["sweater"]]
    assert ids(client.get("/api/catalog/products?q=wool+linen")) == []  # all words must match
    assert ids(client.get("/api/catalog/products?q=scarf")) == []  # inactive


def test_search_input_cannot_reach_the_query_syntax(client, shop):
    for q in ['"wool', "-wool", "wool -socks", "$where", "{'$gt': ''}", "\\", "*", "()"]:
        response = client.get("/api/catalog/products", query_string={"q": q})
        assert response.status_code == 200, (q, response.get_json())
    assert len(ids(client.get("/api/catalog/products", query_string={"q": "wool -socks"}))) == 1


def test_relevance_is_the_default_order_of_a_search(client, shop):
    response = client.get("/api/catalog/products?q=wool")
    assert response.get_json()["total"] == 2


def test_filters_combine(client, shop):
    def get(query: str) -> set[str]:
        return set(ids(client.get(f"/api/catalog/products?{query}")))

    assert get("category=kitchen") == {shop["pan"]}
    assert get("min_price=39&max_price=59.00") == {shop["pan"], shop["shirt"]}
    assert get("min_price=60") == {shop["sweater"]}
    assert get("in_stock=true") == {shop["sweater"], shop["shirt"], shop["pan"]}
    assert get("in_stock=false") == {shop["socks"]}
    assert get("attr.color=red") == {shop["sweater"]}
    assert get("attr.size=42") == {shop["socks"]}  # the number 42
    assert get("attr.eco=true") == {shop["socks"]}
    assert get("attr.material=cast+iron&category=kitchen") == {shop["pan"]}
    assert get("attr.color=red&attr.size=L") == set()
    assert get("q=wool&in_stock=true") == {shop["sweater"]}
    assert get("category=clothing&max_price=20&q=socks") == {shop["socks"]}
    assert get("currency=USD") == set()
    assert get("q=&category=") == {shop["sweater"], shop["socks"], shop["shirt"], shop["pan"]}


def test_sorting(client, shop):
    assert ids(client.get("/api/catalog/products?sort=price_asc")) == [
        shop["socks"],
        shop["pan"],
        shop["shirt"],
        shop["sweater"],
    ]
    assert ids(client.get("/api/catalog/products?sort=price_desc"))[0] == shop["sweater"]
    assert ids(client.get("/api/catalog/products?sort=name"))[0] == shop["shirt"]


def test_pagination_pages_without_overlap(client, make_product):
    for _ in range(7):
        make_product()
    seen = []
    for page in (1, 2, 3):
        body = client.get(
            f"/api/catalog/products?page_size=3&page={page}&sort=price_asc"
        ).get_json()
        assert body["total"] == 7 and body["pages"] == 3
        seen += [item["id"] for item in body["items"]]
    assert len(seen) == len(set(seen)) == 7
    assert ids(client.get("/api/catalog/products?page_size=3&page=4")) == []


def test_page_size_and_depth_are_capped(client, assert_error):
    error = assert_error(client.get("/api/catalog/products?page_size=101"), 422)
    assert error["fields"] == {"page_size": ["at most 100"]}
    assert client.get("/api/catalog/products?page_size=100").status_code == 200
    assert_error(client.get("/api/catalog/products?page=501"), 422)
    assert_error(client.get("/api/catalog/products?page=0"), 422)
    assert_error(client.get("/api/catalog/products?page_size=0"), 422)
    assert_error(client.get("/api/catalog/products?page_size=many"), 422)


def test_bad_filters_are_refused(client, assert_error):
    for query in (
        "min_price=abc",
        "max_price=-1",
        "min_price=1.001",
        "sort=$natural",
        "in_stock=perhaps",
        "category=Not+A+Slug",
        "unknown=1",
        "q=" + "x" * 201,
    ):
        assert_error(client.get(f"/api/catalog/products?{query}"), 422, "validation_error")


def test_staff_may_include_inactive_products(client, shop, staff, customer, assert_error):
    everything = ids(client.get("/api/catalog/products?include_inactive=true", headers=staff))
    assert shop["old"] in everything and len(everything) == 5
    assert_error(client.get("/api/catalog/products?include_inactive=true", headers=customer), 403)
    assert_error(client.get("/api/catalog/products?include_inactive=true"), 401)

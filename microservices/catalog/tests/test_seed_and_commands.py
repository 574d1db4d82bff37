"""The demo seed, the operator commands and the production guard."""

from __future__ import annotations

import pytest

from catalog.__main__ import main
from catalog.seed import demo_catalog, seed_if_empty
from catalog.settings import Settings, load_settings
from msh_common.secrets import InsecureConfiguration


def test_the_demo_catalog_looks_like_a_shop(store, settings, client):
    assert seed_if_empty(store, settings) == len(demo_catalog()["products"])
    products = list(store.db.products.find())
    categories = {p["category"] for p in products}
    assert len(products) >= 60 and len(categories) >= 6
    assert {c["slug"] for c in demo_catalog()["categories"]} == categories
    assert len({frozenset(p["attributes"]) for p in products}) >= 20  # varied attributes
    assert {p["available"] for p in products} >= {0} and max(p["available"] for p in products) > 50
    assert any(not p["active"] for p in products)
    assert store.stock.inconsistencies() == []
    listing = client.get("/api/catalog/products?page_size=100").get_json()
    assert listing["total"] == sum(p["active"] for p in products)
    assert client.get("/api/catalog/products?q=coffee").get_json()["total"] >= 3
    assert client.get("/api/catalog/products?attr.color=black").get_json()["total"] >= 3


def test_seeding_again_changes_nothing(store, settings):
    seed_if_empty(store, settings)
    before = list(store.db.products.find().sort("_id", 1))
    assert seed_if_empty(store, settings) == 0
    assert list(store.db.products.find().sort("_id", 1)) == before


def test_a_catalog_with_products_is_never_seeded(store, settings, make_product):
    make_product()
    assert seed_if_empty(store, settings) == 0
    assert store.db.products.count_documents({}) == 1


def test_setup_creates_indexes_and_seeds(settings, store, monkeypatch, capsys):
    monkeypatch.setenv("CATALOG_MONGO_DB", settings.catalog_mongo_db)
    store.db.products.drop_indexes()
    assert main(["setup"]) == 0
    assert "69 product(s) created" in capsys.readouterr().out
    assert main(["setup"]) == 0
    assert "0 product(s) created" in capsys.readouterr().out
    assert main(["check-stock"]) == 0
    assert "0 product(s) inconsistent" in capsys.readouterr().out


def test_check_stock_reports_a_broken_invariant(settings, store, make_product, monkeypatch, capsys):
    monkeypatch.setenv("CATALOG_MONGO_DB", settings.catalog_mongo_db)
    product = make_product(stock=3)
    store.db.products.update_one({"_id": product["_id"]}, {"$inc": {"available": 1}})
    assert main(["check-stock"]) == 1
    assert product["_id"] in capsys.readouterr().out


def test_relay_once_publishes_what_is_pending(settings, store, broker, monkeypatch, capsys):
    from catalog.store.decisions import State
    from msh_events import Event

    monkeypatch.setenv("CATALOG_MONGO_DB", settings.catalog_mongo_db)
    rejected = Event(type="stock.rejected", producer="catalog", data={"order_id": "o"})
    store.decisions.decide(store.decisions.take("o"), State.REJECTED, rejected, cause="test")
    assert main(["relay", "--once"]) == 0
    assert "published 1 event(s)" in capsys.readouterr().out
    assert broker.llen("orders") == 1


def test_production_refuses_a_development_secret(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("MONGO_URL", "mongodb://catalog:dev-insecure-password@db:27017")
    with pytest.raises(InsecureConfiguration, match="MONGO_URL"):
        load_settings()
    monkeypatch.setenv("MONGO_URL", "mongodb://catalog:s3cret-from-vault@db:27017")
    assert load_settings().environment == "production"


def test_settings_are_validated():
    with pytest.raises(ValueError, match="ISO 4217"):
        Settings(catalog_currencies="EURO")
    assert Settings(catalog_currencies="eur, usd").currencies == {"EUR", "USD"}
    assert Settings(jwks_url=None, mainapp_url="http://m:1/").jwks_endpoint == (
        "http://m:1/api/auth/jwks"
    )

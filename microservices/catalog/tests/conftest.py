"""Catalog tests run against a real MongoDB-compatible server and Redis started for the session
(``msh_servers`` in pytest.ini). Each test gets its own database. Tokens are signed with an RSA
key made here, whose JWKS a real HTTP server thread serves, as mainapp would."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from catalog.app import create_app
from catalog.settings import Settings
from catalog.store import Store
from devstack.assertions import assert_error as check_error
from devstack.brokers import flushed_redis
from devstack.identity import KID
from devstack.stub_http import access_token

ISSUER = AUDIENCE = "microservicehub"


@pytest.fixture(scope="session")
def make_token(signing_key) -> Callable[..., str]:
    """An access token as mainapp issues them; override any claim."""

    def make(roles: tuple[str, ...] = ("customer",), key=None, **claims: Any) -> str:
        claims.setdefault("sub", str(uuid.uuid4()))
        claims.setdefault("email", "someone@example.com")
        return access_token(key or signing_key, KID, roles=roles, **claims)

    return make


@pytest.fixture(scope="session")
def staff(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(roles=('customer', 'staff'))}"}


@pytest.fixture(scope="session")
def customer(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(roles=('customer',))}"}


@pytest.fixture
def settings(jwks_url) -> Settings:
    """This test's own database; everything else as the environment says."""
    return Settings(
        catalog_mongo_db=f"test_{uuid.uuid4().hex[:12]}",
        jwks_url=jwks_url,
        log_format="console",
        events_claim_seconds=5,
        outbox_claim_seconds=5,
    )


@pytest.fixture
def store(settings) -> Iterator[Store]:
    store = Store.connect(settings)
    store.ensure_indexes()
    yield store
    store.client.drop_database(settings.catalog_mongo_db)
    store.close()


@pytest.fixture
def app(settings, store):
    return create_app(settings, store=store)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def broker(settings) -> Iterator[redis.Redis]:
    with flushed_redis(settings.redis_url) as client:
        yield client


@pytest.fixture
def category(store) -> str:
    store.categories.create("clothing", "Clothing", "Things to wear")
    return "clothing"


@pytest.fixture
def make_product(store, category) -> Callable[..., dict[str, Any]]:
    """A product straight in the store (fast); ``stock`` units received."""
    counter = iter(range(1, 1_000_000))

    def make(
        name: str | None = None, *, stock: int = 0, price: str = "10.00", **fields: Any
    ) -> dict[str, Any]:
        from catalog.domain.pricing import parse_price
        from catalog.domain.slugs import slugify
        from catalog.store.documents import utcnow

        number = next(counter)
        name = name or f"Product {number}"
        doc = {
            "sku": fields.pop("sku", f"SKU-{number:04d}"),
            "name": name,
            "slug": fields.pop("slug", f"{slugify(name)}-{number}"),
            "description": fields.pop("description", ""),
            "price_minor": parse_price(price),
            "currency": fields.pop("currency", "EUR"),
            "category": fields.pop("category", category),
            "attributes": fields.pop("attributes", {}),
            "images": [],
            "active": fields.pop("active", True),
            **fields,
        }
        product = store.products.create(doc, slug_explicit=True)
        # MongoDB keeps milliseconds: two products made in the same one would tie on
        # created_at and "newest first" would fall back to their random ids.
        while utcnow() <= product["created_at"]:
            time.sleep(0.0005)
        if stock:
            product = store.stock.receive(product["_id"], stock)
        return product

    return make


@pytest.fixture
def assert_error() -> Callable[..., dict]:
    return check_error

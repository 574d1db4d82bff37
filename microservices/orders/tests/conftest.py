"""orders tests run against real servers started for the session (``msh_servers`` in pytest.ini):
PostgreSQL with the schema made by the real Alembic migrations, Redis, and a MongoDB-compatible
server under the real catalog service (gunicorn, started once per session, emptied per test).

The app is built the production way: its settings name the catalog's URL, so carts and checkout
price lines through the real ``CatalogClient`` over HTTP, and both services verify tokens with the
keys of a JWKS endpoint that a real HTTP server thread serves, as mainapp would. Products are made
in the catalog as staff make them, through its HTTP API; their ids are the catalog's own.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
import redis
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import text

from devstack.assertions import assert_error as check_error
from devstack.brokers import flushed_redis
from devstack.identity import KID
from devstack.processes import ServiceProcess
from devstack.servers import free_port
from devstack.services import catalog_processes, catalog_setup_commands
from devstack.stack import run_jobs, wait_healthy
from devstack.stub_http import Answer, Seen, access_token, http_server, jwks_answer
from devstack.waiting import eventually
from devstack.waiting import queued as queued_in
from orders.app import create_app
from orders.settings import Settings
from orders.store.db import Database

SERVICE_DIR = Path(__file__).resolve().parent.parent
ISSUER = AUDIENCE = "microservicehub"
TABLES = (
    "order_lines",
    "orders",
    "cart_items",
    "carts",
    "outbox_events",
    "processed_events",
    "dead_letters",
)


def alembic_config(url: str) -> Config:
    config = Config(str(SERVICE_DIR / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(scope="session")
def settings(catalog_url: str, jwks_url: str) -> Settings:
    return Settings(
        orders_database_url=os.environ["ORDERS_DATABASE_URL"],
        redis_url=os.environ["REDIS_URL"],
        catalog_url=catalog_url,
        jwks_url=jwks_url,
        log_format="console",
        orders_db_pool_size=5,
        orders_sse_heartbeat_seconds=0.5,
        orders_pending_republish_seconds=60,
    )


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> str:
    command.upgrade(alembic_config(settings.database_url), "head")
    return settings.database_url


@pytest.fixture
def alembic_cfg(settings: Settings, migrated: str) -> Config:
    return alembic_config(settings.database_url)


@pytest.fixture(scope="session")
def database(settings: Settings, migrated: str) -> Iterator[Database]:
    db = Database(settings.database_url, pool_size=5)
    yield db
    db.dispose()


@pytest.fixture
def broker(settings: Settings) -> Iterator[redis.Redis]:
    with flushed_redis(settings.redis_url) as client:
        yield client


@pytest.fixture
def db(database: Database, broker) -> Database:
    """The database, emptied before the test (and the broker flushed)."""
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    database.on_outbox_commit = None
    return database


# --- real HTTP servers in threads (mainapp's JWKS endpoint, misbehaving catalogs) ----------


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Seen], Answer]], str]]:
    """Start real HTTP servers for this test (see :func:`http_server`); each one's base URL."""
    with contextlib.ExitStack() as servers:
        yield lambda answer: servers.enter_context(http_server(answer))


# --- identity: tokens signed by a key this session owns -------------------------------------


@pytest.fixture
def serve_jwks(serve, signing_key) -> Callable[[Mapping[str, rsa.RSAPublicKey]], str]:
    """Another JWKS endpoint, for this test: the session key and ``more`` keys; its URL."""
    return lambda more: (
        f"{serve(jwks_answer({KID: signing_key.public_key(), **more}))}/api/auth/jwks"
    )


@pytest.fixture(scope="session")
def make_token(signing_key) -> Callable[..., str]:
    def make(
        user_id: uuid.UUID | str,
        *,
        staff: bool = False,
        key: rsa.RSAPrivateKey | None = None,
        kid: str = KID,
        **overrides: Any,
    ) -> str:
        roles = ["staff"] if staff else ["customer"]
        return access_token(key or signing_key, kid, sub=str(user_id), roles=roles, **overrides)

    return make


class User:
    """A caller: an id and the Authorization header of its token."""

    def __init__(self, make_token: Callable[..., str], staff: bool = False, **token: Any) -> None:
        self.id = uuid.uuid4()
        self.token = make_token(self.id, staff=staff, **token)
        self.headers = {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def new_user(make_token) -> Callable[..., User]:
    """``new_user(staff=False, key=..., kid=...)``: another caller (``key``: signed by another)."""
    return lambda staff=False, **token: User(make_token, staff, **token)


@pytest.fixture
def user(new_user) -> User:
    return new_user()


@pytest.fixture
def staff(new_user) -> User:
    return new_user(staff=True)


# --- the catalog: the real service, over HTTP ------------------------------------------------

CATALOG_DB = "orders_tests_catalog"
CATEGORY = "kitchen"


@pytest.fixture(scope="session")
def catalog_url(jwks_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real catalog web app, started as ``make dev`` starts it (its set-up job, then
    gunicorn) on a free port, on its own database of the session's MongoDB-compatible server,
    trusting the session's JWKS. Once per session: it takes a second or two."""
    port = str(free_port())
    env = {
        **os.environ,
        "CATALOG_PORT": port,
        "CATALOG_MONGO_DB": CATALOG_DB,
        "JWKS_URL": jwks_url,
        "PYTHONUNBUFFERED": "1",
    }
    run_jobs(catalog_setup_commands(), env)
    web = next(spec for spec in catalog_processes(env) if spec.name == "catalog")
    assert web.health_url is not None
    process = ServiceProcess(web, env, tmp_path_factory.mktemp("catalog-logs"))
    process.start()
    try:
        wait_healthy(web.health_url, timeout=60, is_alive=lambda: process.alive)
    except Exception as exc:
        process.stop()
        pytest.fail(f"the catalog did not start: {exc}\n{process.log()[-3000:]}")
    yield f"http://127.0.0.1:{port}"
    process.stop()


@pytest.fixture(scope="session")
def catalog_db(catalog_url: str) -> Iterator[pymongo.database.Database]:
    client: pymongo.MongoClient = pymongo.MongoClient(os.environ["MONGO_URL"])
    yield client[CATALOG_DB]
    client.close()


@pytest.fixture(scope="session")
def catalog_http(catalog_url: str) -> Iterator[httpx.Client]:
    """One connection pool for the session (an httpx client takes ~20 ms to make)."""
    with httpx.Client(base_url=catalog_url, timeout=10) as http:
        yield http


class Catalog:
    """The real catalog, driven through its HTTP API with a staff token, as staff drive it."""

    def __init__(self, http: httpx.Client, staff_token: str) -> None:
        self.url = str(http.base_url).rstrip("/")
        self._http = http
        self._auth = {"Authorization": f"Bearer {staff_token}"}
        self._numbers = itertools.count(1)

    def _call(self, method: str, path: str, expected: int, body: dict[str, Any]) -> dict:
        response = self._http.request(method, f"/api/catalog{path}", json=body, headers=self._auth)
        assert response.status_code == expected, response.text
        return response.json()

    def add_category(self, slug: str) -> None:
        self._call("POST", "/categories", 201, {"name": slug.title(), "slug": slug})

    def add(
        self,
        *,
        name: str | None = None,
        price: str = "10.00",
        currency: str = "EUR",
        active: bool = True,
        stock: int = 100,
    ) -> str:
        """A new product with ``stock`` units received; its id (the catalog's own)."""
        number = next(self._numbers)
        product = self._call(
            "POST",
            "/products",
            201,
            {
                "sku": f"SKU-{number:04d}",
                "name": name or f"Product {number}",
                "price": price,
                "currency": currency,
                "category": CATEGORY,
                "active": active,
            },
        )
        if stock:
            self._call("POST", f"/products/{product['id']}/stock", 200, {"quantity": stock})
        return product["id"]

    def update(self, product_id: str, **fields: Any) -> None:
        """Change a product: ``name``, ``price``, ``currency``, ``active``..."""
        self._call("PATCH", f"/products/{product_id}", 200, fields)


@pytest.fixture
def catalog(catalog_http, catalog_db, make_token) -> Catalog:
    """The real catalog, emptied for this test (indexes kept), with one category."""
    for name in catalog_db.list_collection_names():
        if not name.startswith("system."):
            catalog_db[name].delete_many({})
    catalog = Catalog(catalog_http, make_token(uuid.uuid4(), staff=True))
    catalog.add_category(CATEGORY)
    return catalog


@pytest.fixture
def products(catalog: Catalog) -> dict[str, str]:
    """Three products for sale in EUR, by nickname: their catalog ids."""
    return {
        "mug": catalog.add(name="Red mug", price="19.99"),
        "towel": catalog.add(name="Tea towel", price="5.50"),
        "lamp": catalog.add(name="Lamp", price="100"),
    }


# --- the app ---------------------------------------------------------------------------------


@pytest.fixture
def app(settings, db):
    """Built as in production: the real catalog client and JWKS cache, from the settings."""
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client_without_catalog(settings, db) -> Iterator[TestClient]:
    """The same service on the same database, but nothing listens where it looks for the
    catalog. Its circuit opens at the first failure and refuses calls for 3 s. No retries:
    nothing will ever listen there."""
    unreachable = Settings(
        **{
            **settings.model_dump(),
            "catalog_url": f"http://127.0.0.1:{free_port()}",
            "orders_catalog_retries": 0,
            "orders_catalog_breaker_failures": 1,
            "orders_catalog_breaker_reset_seconds": 3,
        }
    )
    with TestClient(create_app(unreachable)) as client:
        yield client


# --- looking inside --------------------------------------------------------------------------


@pytest.fixture
def queued(broker) -> Callable[[str], list[dict]]:
    """The envelopes waiting in a queue (kombu keeps them in a Redis list)."""
    return lambda queue: queued_in(broker, queue)


@pytest.fixture
def outbox(database: Database) -> Callable[..., list[dict]]:
    """Outbox envelopes, oldest first, optionally of one type."""

    def rows(event_type: str | None = None) -> list[dict]:
        with database.engine.connect() as connection:
            result = connection.execute(
                text("SELECT envelope FROM outbox_events ORDER BY created_at, id")
            )
            envelopes = [row[0] for row in result]
        return [e for e in envelopes if event_type is None or e["type"] == event_type]

    return rows


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    return eventually


@pytest.fixture
def assert_error() -> Callable[..., dict]:
    return check_error

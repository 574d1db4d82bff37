"""orders tests run against a real PostgreSQL and Redis started for the session (``msh_servers``
in pytest.ini), with the schema made by the real Alembic migrations.

The catalog is the one thing replaced here, by an in-memory quote source: checkout against the
real catalog over HTTP is covered by the whole-stack tests (../../tests/test_orders_*.py).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import text

from msh_auth import JWKSCache
from orders.app import create_app
from orders.catalog import CatalogUnavailable
from orders.domain.pricing import LineRequest, Quote
from orders.settings import Settings
from orders.store.db import Database

SERVICE_DIR = Path(__file__).resolve().parent.parent
ISSUER = AUDIENCE = "microservicehub"
KID = "test-key"
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
def settings() -> Settings:
    return Settings(
        orders_database_url=os.environ["ORDERS_DATABASE_URL"],
        redis_url=os.environ["REDIS_URL"],
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
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def db(database: Database, broker) -> Database:
    """The database, emptied before the test (and the broker flushed)."""
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    database.on_outbox_commit = None
    return database


# --- identity: tokens signed by a key this session owns -------------------------------------


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks(signing_key) -> JWKSCache:
    return JWKSCache(lambda: {KID: signing_key.public_key()}, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="session")
def make_token(signing_key) -> Callable[..., str]:
    def make(user_id: uuid.UUID | str, *, staff: bool = False, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "email": f"{user_id}@example.com",
            "roles": ["staff"] if staff else ["customer"],
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "token_type": "access",
            **overrides,
        }
        return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": KID})

    return make


class User:
    """A caller: an id and the Authorization header of its token."""

    def __init__(self, make_token: Callable[..., str], staff: bool = False) -> None:
        self.id = uuid.uuid4()
        self.token = make_token(self.id, staff=staff)
        self.headers = {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def new_user(make_token) -> Callable[..., User]:
    return lambda staff=False: User(make_token, staff)


@pytest.fixture
def user(new_user) -> User:
    return new_user()


@pytest.fixture
def staff(new_user) -> User:
    return new_user(staff=True)


# --- the catalog, in memory ----------------------------------------------------------------


class FakeCatalog:
    """Quotes from a dict; ``down = True`` makes it unavailable; records the tokens it saw."""

    def __init__(self) -> None:
        self.products: dict[str, Quote] = {}
        self.down = False
        self.calls: list[tuple[list[LineRequest], str]] = []

    def add(
        self,
        product_id: str,
        price: str = "10.00",
        *,
        name: str | None = None,
        currency: str = "EUR",
        active: bool = True,
        available: int = 100,
    ) -> str:
        self.products[product_id] = Quote(
            product_id=product_id,
            found=True,
            name=name or f"Product {product_id}",
            unit_price=Decimal(price),
            currency=currency,
            active=active,
            available=available,
        )
        return product_id

    def quote(self, lines: Sequence[LineRequest], bearer: str) -> dict[str, Quote]:
        self.calls.append((list(lines), bearer))
        if self.down:
            raise CatalogUnavailable("down for the test", retry_after=3)
        return {
            line.product_id: self.products.get(line.product_id)
            or Quote(product_id=line.product_id, found=False)
            for line in lines
        }


@pytest.fixture
def catalog() -> FakeCatalog:
    catalog = FakeCatalog()
    catalog.add("p1", "19.99", name="Red mug")
    catalog.add("p2", "5.50", name="Tea towel")
    catalog.add("p3", "100", name="Lamp")
    return catalog


@pytest.fixture
def app(settings, db, catalog, jwks):
    return create_app(settings, catalog=catalog, jwks=jwks)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


# --- looking inside --------------------------------------------------------------------------


def _queued(broker: redis.Redis, queue: str) -> list[dict]:
    import base64

    envelopes = []
    for raw in broker.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        envelopes.append(json.loads(body)[0][0])
    return envelopes


@pytest.fixture
def queued(broker) -> Callable[[str], list[dict]]:
    """The envelopes waiting in a queue (kombu keeps them in a Redis list)."""
    return lambda queue: _queued(broker, queue)


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
    def wait(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"not met within {timeout}s: {check}")
            time.sleep(interval)

    return wait


@pytest.fixture
def assert_error() -> Callable[..., dict]:
    def check(response, status: int, code: str | None = None) -> dict:
        """The platform's one error shape: {"error": {"code", "message", ["fields"]}}."""
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"]
        if code is not None:
            assert error["code"] == code, error
        return error

    return check

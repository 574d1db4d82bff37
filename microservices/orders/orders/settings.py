"""All orders configuration, read from the environment and validated at start.

Every field is read from the environment variable of the same name in upper case
(``catalog_url`` <- ``CATALOG_URL``); there is no ``.env`` file here: the launcher passes the
top-level ``.env`` under the real environment, so what ``env`` shows is what the service uses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from msh_common.forwarding import DEFAULT_TRUSTED_PROXIES
from msh_common.secrets import refuse_dev_secrets
from msh_events.config import EventsConfig

SERVICE = "orders"


def sqlalchemy_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` URLs (the launcher's) as psycopg 3 URLs."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg{sep}{rest}"
    return url


class Settings(BaseSettings):
    """Immutable; tests build their own with keyword overrides."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    environment: str = Field("development", description="`production` refuses dev secrets.")
    trusted_proxies: str = Field(
        DEFAULT_TRUSTED_PROXIES,
        description="Peers (addresses, CIDRs, host names; comma-separated) whose X-Forwarded-* "
        "headers are believed: the gateway (compose: `gateway`).",
    )
    log_level: str = Field("INFO")
    log_format: Literal["json", "console"] = Field("json")

    # --- stores ---
    orders_database_url: str = Field(description="PostgreSQL database `orders`.")
    orders_db_pool_size: int = Field(10, ge=1, description="Pooled connections per process.")
    orders_db_max_overflow: int = Field(20, ge=0)
    redis_url: str = Field(description="Redis: the Celery broker.")
    celery_broker_url: str | None = Field(None, description="Default: REDIS_URL.")

    # --- identity: every service verifies the JWT itself ---
    mainapp_url: str = Field("http://127.0.0.1:8001")
    jwks_url: str | None = Field(None, description="Default: {MAINAPP_URL}/api/auth/jwks.")
    jwt_issuer: str = Field("microservicehub")
    jwt_audience: str = Field("microservicehub")
    revocation_max_staleness_seconds: float = Field(
        30.0,
        gt=0,
        description="Token revocations are followed from REDIS_URL; after this long without a "
        "sync, authenticated requests get 503 auth_unavailable (fail closed).",
    )

    # --- catalog, called synchronously at checkout ---
    catalog_url: str = Field("http://127.0.0.1:8002", description="Catalog's internal URL.")
    orders_catalog_timeout_seconds: float = Field(3.0, gt=0)
    orders_catalog_retries: int = Field(2, ge=0, description="Retries on connection errors.")
    orders_catalog_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures that open the circuit."
    )
    orders_catalog_breaker_reset_seconds: float = Field(
        10.0, gt=0, description="How long an open circuit refuses before one trial call."
    )

    # --- limits ---
    orders_max_body_bytes: int = Field(64 * 1024, ge=1024)
    orders_max_quantity: int = Field(99, ge=1, description="Largest quantity of one line.")
    orders_max_lines: int = Field(50, ge=1, description="Most distinct products per cart/order.")
    orders_page_size_max: int = Field(100, ge=1)

    # --- the saga ---
    orders_pending_republish_seconds: float = Field(
        60.0, gt=0, description="Re-publish order.placed for orders pending this long."
    )
    orders_pending_republish_max: int = Field(
        10, ge=1, description="Re-publishes of one order before the sweeper only logs it."
    )
    orders_sweep_seconds: float = Field(5.0, gt=0, description="Period of the pending sweeper.")

    # --- live status (SSE) ---
    orders_sse_heartbeat_seconds: float = Field(15.0, gt=0)
    orders_sse_max_seconds: float = Field(
        600.0, gt=0, description="A stream ends after this long; EventSource reconnects."
    )

    # --- events (libs/msh_events) ---
    # CELERY_*, EVENTS_*, OUTBOX_SWEEP_SECONDS: the event bus's own settings, read by msh_events.
    events: EventsConfig = Field(default_factory=EventsConfig.from_env)

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        refuse_dev_secrets(
            self.environment,
            {"ORDERS_DATABASE_URL password": urlsplit(self.orders_database_url).password},
        )
        return self

    @property
    def database_url(self) -> str:
        return sqlalchemy_url(self.orders_database_url)

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.mainapp_url.rstrip('/')}/api/auth/jwks"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()  # required fields come from the environment

"""All catalog configuration, read from the environment and validated at start.

Every field is read from the environment variable of the same name in upper case
(``mongo_url`` <- ``MONGO_URL``). Local-development defaults live in the repository's top-level
``.env``; nothing here is a secret production would use.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from msh_common.forwarding import DEFAULT_TRUSTED_PROXIES
from msh_common.secrets import refuse_dev_secrets
from msh_events.config import EventsConfig

SERVICE = "catalog"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    environment: str = Field("development", description="production refuses dev secrets")
    trusted_proxies: str = Field(
        DEFAULT_TRUSTED_PROXIES,
        description="peers (addresses, CIDRs, host names) whose X-Forwarded-* are believed",
    )
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"

    mongo_url: str = Field("mongodb://127.0.0.1:27017", description="the catalog's MongoDB")
    catalog_mongo_db: str = Field("catalog", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    mongo_timeout_ms: int = Field(3000, gt=0, description="server selection / socket timeout")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="the Celery broker")

    # Bearer tokens are verified here with mainapp's public keys (docs/architecture.md).
    mainapp_url: str = "http://127.0.0.1:8001"
    jwks_url: str | None = Field(None, description="default: {MAINAPP_URL}/api/auth/jwks")
    jwt_issuer: str = "microservicehub"
    jwt_audience: str = "microservicehub"
    revocation_max_staleness_seconds: float = Field(
        30.0,
        gt=0,
        description="token revocations are followed from REDIS_URL; after this long without a "
        "sync, authenticated requests get 503 auth_unavailable (fail closed)",
    )

    catalog_max_body_bytes: int = Field(1024 * 1024, gt=0, description="larger bodies get 413")
    catalog_max_image_bytes: int = Field(
        5 * 1024 * 1024, gt=0, description="largest product image upload; larger: 413"
    )
    catalog_max_image_pixels: int = Field(
        25_000_000, gt=0, description="largest product image, width x height; larger: 422"
    )
    catalog_max_page_size: int = Field(100, ge=1, le=1000)
    catalog_default_page_size: int = Field(20, ge=1)
    catalog_max_page: int = Field(500, ge=1, description="deep pages cost a skip; capped")
    catalog_currencies: str = Field("EUR,USD,GBP", description="accepted ISO 4217 codes")
    catalog_default_currency: str = "EUR"

    # CELERY_*, EVENTS_*, OUTBOX_SWEEP_SECONDS: the event bus's own settings, read by msh_events.
    events: EventsConfig = Field(default_factory=EventsConfig.from_env)
    # How long a handler holds an order against a concurrent delivery or event about it; the
    # holder that dies leaves it to run out.
    events_claim_seconds: float = Field(30.0, gt=0)
    # How long a relay holds the outbox documents it claimed before another relay may take them.
    outbox_claim_seconds: float = Field(30.0, gt=0)

    @field_validator("catalog_currencies", "catalog_default_currency")
    @classmethod
    def _currency_codes(cls, value: str) -> str:
        codes = [code.strip().upper() for code in value.split(",") if code.strip()]
        if not codes or any(len(code) != 3 or not code.isalpha() for code in codes):
            raise ValueError("expected ISO 4217 codes such as EUR,USD")
        return ",".join(codes)

    @cached_property
    def currencies(self) -> frozenset[str]:
        return frozenset(self.catalog_currencies.split(","))

    @property
    def jwks_endpoint(self) -> str:
        return self.jwks_url or f"{self.mainapp_url.rstrip('/')}/api/auth/jwks"

    def check_production(self) -> None:
        """Refuse to run in production with a connection URL that carries a dev secret."""
        refuse_dev_secrets(
            self.environment, {"MONGO_URL": self.mongo_url, "REDIS_URL": self.redis_url}
        )


def load_settings() -> Settings:
    """Settings from the environment, checked for production use."""
    settings = Settings()
    if settings.catalog_default_currency not in settings.currencies:
        raise ValueError("CATALOG_DEFAULT_CURRENCY must be one of CATALOG_CURRENCIES")
    settings.check_production()
    return settings

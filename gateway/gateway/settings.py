"""Gateway configuration, read from environment variables only.

Every field is read from the environment variable of the same name in upper case
(``gateway_port`` <- ``GATEWAY_PORT``); there is no prefix and no ``.env`` file, so what
``env`` shows is what the gateway uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ROUTES_FILE = Path(__file__).with_name("routes.toml")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """All gateway settings. Instances are immutable; build a new one to change them."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    gateway_host: str = Field(
        "127.0.0.1",
        description="Interface to listen on (read by the launcher / python -m gateway).",
    )
    gateway_port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on.")
    mainapp_url: str = Field(
        "http://127.0.0.1:8001", description="Base URL of the mainapp upstream (Django)."
    )
    gateway_routes_file: Path = Field(
        DEFAULT_ROUTES_FILE, description="TOML route table; defaults to gateway/routes.toml."
    )
    upstream_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Default per-route upstream timeout: connect + response headers, and the "
        "longest silence allowed between response body chunks.",
    )
    upstream_max_connections: int = Field(
        100, ge=0, description="Pooled connections per upstream host (0 = unlimited)."
    )
    gateway_max_body_bytes: int = Field(
        1024 * 1024, ge=0, description="Largest request body accepted; larger ones get 413."
    )
    health_timeout_seconds: float = Field(
        2.0, gt=0, description="Timeout of each upstream /health probe made by GET /health."
    )
    log_level: LogLevel = Field("INFO", description="Root log level.")
    environment: str = Field("development", description="Deployment name, added to every log line.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def upstream_url(self, name: str, environ: Mapping[str, str] = os.environ) -> str | None:
        """Base URL of upstream ``name``: the ``<NAME>_URL`` setting or environment variable.

        ``mainapp`` is a declared field (so it has a default); upstreams added later only
        need their ``<NAME>_URL`` variable, e.g. ``catalog`` -> ``CATALOG_URL``.
        """
        key = f"{name.replace('-', '_')}_url".lower()
        if key in type(self).model_fields:
            return getattr(self, key)
        return environ.get(key.upper())

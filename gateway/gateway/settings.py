"""Gateway configuration, read from environment variables only.

Every field is read from the environment variable of the same name in upper case
(``gateway_port`` <- ``GATEWAY_PORT``); there is no prefix and no ``.env`` file, so what
``env`` shows is what the gateway uses. Per-route options live in the route table
(``routes.toml``); this module holds what applies to the whole process.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_ROUTES_FILE = Path(__file__).with_name("routes.toml")
# The SPA build beside the gateway folder in the repository (frontend/dist).
DEFAULT_FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"\s*(\d+)\s*/\s*([a-z]+?)s?\s*")

PRIVATE_NETWORKS = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` requests per ``period`` seconds, written "600/minute" in the environment."""

    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.fullmatch(text.lower())
        if not match or match.group(2) not in _PERIODS or int(match.group(1)) < 1:
            raise ValueError(f"{text!r} is not a rate like 600/minute (second, minute, hour, day)")
        return cls(int(match.group(1)), _PERIODS[match.group(2)])

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}s"


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """All gateway settings. Instances are immutable; build a new one to change them."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, arbitrary_types_allowed=True
    )

    gateway_host: str = Field(
        "127.0.0.1",
        description="Interface to listen on (read by the launcher / python -m gateway).",
    )
    gateway_port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on.")
    mainapp_url: str = Field(
        "http://127.0.0.1:8001", description="Base URL of the mainapp upstream (Django)."
    )
    mainapp_ws_url: str = Field(
        "http://127.0.0.1:8001",
        description="Base URL of mainapp's sockets (Channels): the /ws routes' upstream; "
        "mainapp's own address unless they are deployed apart (Kubernetes: mainapp-ws).",
    )
    gateway_routes_file: Path = Field(
        DEFAULT_ROUTES_FILE, description="TOML route table; defaults to gateway/routes.toml."
    )
    frontend_dist: str | None = Field(
        None,
        description="Built SPA served at / with history fallback; default ../frontend/dist "
        "when it exists; empty: serve no SPA (unmatched paths get the JSON 404).",
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
    upstream_retries: int = Field(
        1,
        ge=0,
        le=5,
        description="Extra tries of an idempotent request whose connection to the upstream "
        "failed before any response (never after a response or a timeout).",
    )
    breaker_failure_threshold: int = Field(
        5, ge=1, description="Consecutive upstream failures that open its circuit breaker."
    )
    breaker_open_seconds: float = Field(
        10.0, gt=0, description="How long an open breaker answers 503 before it lets a probe by."
    )
    gateway_max_body_bytes: int = Field(
        1024 * 1024,
        ge=0,
        description="Default largest request body (routes may set their own); larger gets 413.",
    )
    upstream_pool_wait_seconds: float = Field(
        0.5,
        ge=0,
        description="How long a request may wait for a free pooled connection to its upstream "
        "before it gets 503 with Retry-After (pool exhausted).",
    )
    upstream_stream_max_connections: int = Field(
        500,
        ge=0,
        description="Connections per upstream host reserved for streaming responses (SSE), "
        "apart from UPSTREAM_MAX_CONNECTIONS (0 = unlimited).",
    )
    sse_max_streams_per_user: int = Field(
        5,
        ge=1,
        description="Open streams (SSE) one user (or, without a token, one client address) may "
        "hold through this gateway process; more get 429 with Retry-After.",
    )
    ws_max_sockets_per_user: int = Field(
        5, ge=1, description="Open WebSockets one user may hold through this gateway process."
    )
    ws_max_sockets: int = Field(
        10_000, ge=1, description="Open WebSockets this gateway process holds in all."
    )
    ws_idle_seconds: float = Field(
        300.0, gt=0, description="A WebSocket with no message either way this long is closed."
    )
    ws_max_message_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest WebSocket message either way; larger: 1009."
    )

    # Client connections (see server.py): header caps, slow and idle clients, lingering close.
    gateway_max_header_line_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="Longest request line or single header line; longer gets 431.",
    )
    gateway_max_header_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request head in all; larger gets 431."
    )
    gateway_max_headers: int = Field(
        100, ge=8, description="Most header fields in one request; more gets 431."
    )
    gateway_header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="A request's head must arrive within this long, or the connection is "
        "closed (slowloris).",
    )
    gateway_max_idle_connections_per_client: int = Field(
        32,
        ge=1,
        description="Idle (keep-alive, between requests) connections one client address may "
        "hold; the oldest is closed beyond it. Peers in TRUSTED_PROXIES are exempt.",
    )
    gateway_linger_seconds: float = Field(
        30.0,
        ge=0,
        description="After refusing a request body (413), keep reading and discarding the rest "
        "for at most this long before closing, so the client sees the answer.",
    )
    gateway_linger_max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="...and at most this many bytes (lingering close, as nginx does).",
    )
    health_timeout_seconds: float = Field(
        2.0, gt=0, description="Timeout of each upstream /health probe made by GET /health."
    )
    dns_refresh_seconds: float = Field(
        5.0,
        gt=0,
        description='How often an upstream with discover = "dns" has its host name resolved '
        "again (every address is an instance).",
    )
    upstream_probe_seconds: float = Field(
        2.0,
        gt=0,
        description="How often each instance of an upstream with several instances (or DNS "
        "discovery) is probed on its health path; a failed probe ejects it.",
    )

    # Edge authentication: RS256 access tokens from mainapp, verified with its JWKS.
    jwks_url: str | None = Field(
        None, description="JWKS document of the token issuer; default {MAINAPP_URL}/api/auth/jwks."
    )
    jwt_issuer: str = Field("microservicehub", description="Required `iss` claim.")
    jwt_audience: str = Field("microservicehub", description="Required `aud` claim.")
    jwks_cache_seconds: float = Field(
        300.0, gt=0, description="Keys are refreshed in the background after this long."
    )
    jwks_min_refetch_seconds: float = Field(
        5.0, ge=0, description="An unknown `kid` refetches the JWKS at most this often."
    )

    # Rate limiting: shared through Redis, decided locally (see ratelimit.py).
    redis_url: str | None = Field(
        None, description="Redis holding the shared rate-limit counters; unset = local only."
    )
    revocation_redis_url: str | None = Field(
        None,
        description="Redis holding mainapp's token-revocation stream (mainapp's REDIS_URL); "
        "default REDIS_URL; neither set = no revocation checks.",
    )
    revocation_max_staleness_seconds: float = Field(
        30.0,
        gt=0,
        description="Token revocations are followed from REDIS_URL; after this long without a "
        "sync, authenticated requests get 503 auth_unavailable (fail closed).",
    )
    rate_limit_anonymous: Annotated[Rate, NoDecode] = Field(
        Rate(600, 60), description="Per client address, for requests without a valid token."
    )
    rate_limit_user: Annotated[Rate, NoDecode] = Field(
        Rate(1200, 60), description="Per user, for verified tokens."
    )
    rate_limit_strict: Annotated[Rate, NoDecode] = Field(
        Rate(10, 60), description="Routes of the strict class (login, register, password reset)."
    )
    rate_limit_sync_seconds: float = Field(
        0.1, gt=0, le=5, description="How often local counters are merged into Redis."
    )

    # Hygiene.
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(
        default_factory=list,
        description="Peers (CIDRs, comma-separated) whose X-Forwarded-For/-Proto/-Host are "
        "believed; empty = trust nobody.",
    )
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (comma-separated, exact) allowed to call the APIs from a browser; "
        "empty = no CORS headers at all.",
    )
    metrics_allowed_networks: Annotated[list[Network], NoDecode] = Field(
        default_factory=lambda: _networks(PRIVATE_NETWORKS),
        description="Client networks that may read /metrics (others get 404).",
    )
    openapi_cache_seconds: float = Field(
        60.0, gt=0, description="How long the merged OpenAPI document is reused."
    )

    log_level: LogLevel = Field("INFO", description="Root log level.")
    log_format: Literal["json", "console"] = Field(
        "json", description="json: one JSON object per line; console: plain text."
    )
    environment: str = Field("development", description="Deployment name, added to every log line.")

    @property
    def effective_frontend_dist(self) -> Path | None:
        if self.frontend_dist is None:
            has_build = (DEFAULT_FRONTEND_DIST / "index.html").is_file()
            return DEFAULT_FRONTEND_DIST if has_build else None
        return Path(self.frontend_dist) if self.frontend_dist.strip() else None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("rate_limit_anonymous", "rate_limit_user", "rate_limit_strict", mode="before")
    @classmethod
    def _parse_rate(cls, value: object) -> object:
        return Rate.parse(value) if isinstance(value, str) else value

    @field_validator("trusted_proxies", "metrics_allowed_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        return _networks(value) if isinstance(value, str) else value

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        origins = _comma_list(value)
        if isinstance(origins, list):
            return [origin.rstrip("/") for origin in origins]
        return origins

    @property
    def effective_jwks_url(self) -> str:
        return self.jwks_url or self.mainapp_url.rstrip("/") + "/api/auth/jwks"

    def upstream_url(self, name: str, environ: Mapping[str, str] = os.environ) -> str | None:
        """Base URL of upstream ``name``: the ``<NAME>_URL`` setting or environment variable.

        ``mainapp`` is a declared field (so it has a default); upstreams added later only
        need their ``<NAME>_URL`` variable, e.g. ``catalog`` -> ``CATALOG_URL``.
        """
        key = f"{name.replace('-', '_')}_url".lower()
        if key in type(self).model_fields and key not in ("jwks_url", "redis_url"):
            return getattr(self, key)
        return environ.get(key.upper())


def _networks(value: object) -> list[Network]:
    items = _comma_list(value)
    assert isinstance(items, list)
    return [ipaddress.ip_network(item, strict=False) for item in items]

"""The route table: which upstream serves a request path.

Routes live in a TOML file (see ``routes.toml``) so adding a service is a configuration
change. The file is validated once at startup; a broken table stops the gateway from
starting instead of failing requests later.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.settings import Settings

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
DEFAULT_METHODS: frozenset[str] = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
)
# RFC 9110 9.2.1: methods that do not change anything ("write_auth" covers the others).
SAFE_METHODS: frozenset[str] = frozenset(("GET", "HEAD", "OPTIONS"))

# What the edge demands before forwarding: nothing, a valid access token, or one with the
# "staff" role. The services check the token again themselves.
Auth = Literal["none", "jwt", "staff"]
# "default": per user with a valid token, else per client address; "strict": the small
# budget of login, register and password reset; "none": not limited.
RateLimitClass = Literal["default", "strict", "none"]


UPSTREAM_NAME = r"^[a-z][a-z0-9_-]*$"


class RouteConfigError(Exception):
    """The route table file is missing, malformed or refers to an unconfigured upstream."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """A backend service. ``bases`` are its instances' origins plus optional base path, without
    trailing / (one, or several from a comma-separated ``<NAME>_URL``); with ``discover`` their
    host names are resolved again and again and every address is an instance (balancer.py)."""

    name: str
    bases: tuple[str, ...]
    openapi_path: str | None = "/openapi.json"
    health_path: str = "/health"
    discover: bool = False

    @property
    def base(self) -> str:
        """The first instance: where the gateway's own GETs (documents, health) go."""
        return self.bases[0]

    def url_for(self, raw_path: str, query_string: str) -> str:
        """Upstream URL for a request; path and query are already percent-encoded.

        ``raw_path`` always starts with "/", so it cannot change the authority: the
        upstream is chosen by configuration only, never by the client.
        """
        target = self.base + raw_path
        if query_string:
            target += "?" + query_string
        return target


@dataclass(frozen=True, slots=True)
class Split:
    """Traffic of one route divided by weight between upstreams: the first side is the stable
    one, the others canaries. A caller with a token stays on one side (its ``sub`` hashed);
    ``X-Canary: always`` forces the first canary, ``never`` the stable side."""

    sides: tuple[Upstream, ...]
    weights: tuple[int, ...]

    def choose(self, canary: bytes | None, subject: str | None) -> Upstream:
        if canary == b"always":
            return self.sides[1]
        if canary == b"never":
            return self.sides[0]
        total = sum(self.weights)
        if subject is not None:
            digest = hashlib.blake2b(subject.encode(), digest_size=8).digest()
            point = int.from_bytes(digest, "big") % total
        else:
            point = random.randrange(total)  # noqa: S311 - traffic split, not a secret
        for side, weight in zip(self.sides, self.weights, strict=True):
            if point < weight:
                return side
            point -= weight
        return self.sides[0]  # pragma: no cover - the weights sum to total


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of the table. ``prefix`` is normalised: no trailing "/", "" for the root."""

    prefix: str
    upstream: Upstream
    methods: frozenset[str]
    timeout: float
    auth: Auth = "none"
    write_auth: Auth = "none"
    rate_limit: RateLimitClass = "default"
    max_body_bytes: int = 1024 * 1024
    # Paths answered with a stream (SSE): their own connection budget, a per-user cap.
    streams: tuple[re.Pattern[str], ...] = ()
    # Set when the route's traffic is divided between upstreams (``upstream`` is its first).
    split: Split | None = None
    # WebSocket upgrades on this route are proxied (websocket.py); plain requests are not.
    websocket: bool = False

    def is_stream(self, path: str) -> bool:
        return any(pattern.fullmatch(path) for pattern in self.streams)

    @property
    def allow(self) -> str:
        """Value of the ``Allow`` header sent with 405 responses."""
        return ", ".join(sorted(self.methods))

    @property
    def name(self) -> str:
        """The route's label in logs and metrics."""
        return self.prefix or "/"

    def auth_for(self, method: str) -> Auth:
        return self.auth if method in SAFE_METHODS else self.write_auth


class RouteTable:
    """Longest-prefix matching on path segment boundaries."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._by_prefix: dict[str, Route] = {}
        for route in routes:
            if route.prefix in self._by_prefix:
                raise RouteConfigError(f"duplicate route prefix {route.prefix or '/'!r}")
            self._by_prefix[route.prefix] = route

    @property
    def routes(self) -> list[Route]:
        return sorted(self._by_prefix.values(), key=lambda route: route.prefix)

    @property
    def upstreams(self) -> dict[str, Upstream]:
        found: dict[str, Upstream] = {}
        for route in self._by_prefix.values():
            for upstream in route.split.sides if route.split else (route.upstream,):
                found[upstream.name] = upstream
        return found

    def match(self, path: str) -> Route | None:
        """Route for ``path`` (decoded, starting with "/"), or None.

        Walks up the path one segment at a time, so the cost depends on the path depth,
        not on the number of routes, and a prefix only matches whole segments.
        """
        candidate = path
        while True:
            route = self._by_prefix.get(candidate)
            if route is not None:
                return route
            cut = candidate.rfind("/")
            if cut < 0:
                return None
            candidate = candidate[:cut]


class _RouteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str
    upstream: str | None = Field(None, pattern=UPSTREAM_NAME)
    # {"orders": 90, "orders_v2": 10}: weights (the first is the stable side), instead of
    # ``upstream``.
    split: dict[str, int] | None = None
    methods: list[Method] | None = Field(None, min_length=1)
    timeout: float | None = Field(None, gt=0)
    auth: Auth = "none"
    write_auth: Auth | None = None
    rate_limit: RateLimitClass = "default"
    max_body_bytes: int | None = Field(None, ge=0)
    streams: list[str] = Field(default_factory=list)
    websocket: bool = False

    @field_validator("methods", mode="before")
    @classmethod
    def _upper_methods(cls, value: object) -> object:
        if isinstance(value, list):
            return [item.upper() if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _one_destination(self) -> _RouteSpec:
        if (self.upstream is None) == (self.split is None):
            raise ValueError("give either upstream or split")
        if self.split is not None:
            if len(self.split) < 2 or any(w < 0 for w in self.split.values()):
                raise ValueError("split needs two or more upstreams with weights >= 0")
            if sum(self.split.values()) <= 0 or any(
                not re.fullmatch(UPSTREAM_NAME, name) for name in self.split
            ):
                raise ValueError("split needs upstream names and a positive total weight")
        return self

    @property
    def destinations(self) -> list[str]:
        return list(self.split) if self.split else [self.upstream or ""]

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        if any(char in value for char in "?#%\\") or any(char.isspace() for char in value):
            raise ValueError("must be a plain path (no ?, #, %, \\ or whitespace)")
        segments = value.strip("/").split("/")
        if value != "/" and any(segment in ("", ".", "..") for segment in segments):
            raise ValueError("must not contain empty, '.' or '..' segments")
        return value


class _UpstreamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    openapi: str = Field("/openapi.json", pattern=r"^(/[^?#\s]*)?$")
    health: str = Field("/health", pattern=r"^/[^?#\s]*$")
    # "dns": every address the URL's host resolves to is an instance (re-resolved every
    # DNS_REFRESH_SECONDS): a headless Service, compose's --scale.
    discover: Literal["static", "dns"] = "static"


class _RouteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[_RouteSpec] = Field(min_length=1)
    upstreams: dict[str, _UpstreamSpec] = Field(default_factory=dict)


def stream_pattern(glob: str) -> re.Pattern[str]:
    """``/api/orders/*/events``: ``*`` stands for exactly one path segment."""
    if not glob.startswith("/"):
        raise RouteConfigError(f"stream path {glob!r} must start with '/'")
    return re.compile("[^/]+".join(re.escape(part) for part in glob.split("*")))


def load_route_table(
    path: Path, settings: Settings, environ: Mapping[str, str] = os.environ
) -> RouteTable:
    """Read, validate and resolve the route table file against ``settings``."""
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except OSError as exc:
        raise RouteConfigError(f"cannot read route table {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RouteConfigError(f"route table {path} is not valid TOML: {exc}") from exc
    try:
        spec = _RouteFile.model_validate(raw)
    except ValidationError as exc:
        raise RouteConfigError(f"invalid route table {path}:\n{exc}") from exc

    upstreams: dict[str, Upstream] = {}
    routes = []
    for entry in spec.routes:
        for name in entry.destinations:
            if name not in upstreams:
                upstreams[name] = _resolve_upstream(
                    name, spec.upstreams.get(name), settings, environ
                )
        routes.append(_route(entry, [upstreams[name] for name in entry.destinations], settings))
    try:
        return RouteTable(routes)
    except RouteConfigError as exc:
        raise RouteConfigError(f"invalid route table {path}: {exc}") from exc


def _route(entry: _RouteSpec, sides: list[Upstream], settings: Settings) -> Route:
    """A validated entry of the file, with its upstreams and the settings' defaults."""
    methods = frozenset(entry.methods) if entry.methods else DEFAULT_METHODS
    if "GET" in methods:
        methods |= {"HEAD"}
    return Route(
        prefix=entry.prefix.rstrip("/"),
        upstream=sides[0],
        methods=methods,
        timeout=entry.timeout or settings.upstream_timeout_seconds,
        auth=entry.auth,
        write_auth=entry.write_auth or entry.auth,
        rate_limit=entry.rate_limit,
        max_body_bytes=(
            entry.max_body_bytes
            if entry.max_body_bytes is not None
            else settings.gateway_max_body_bytes
        ),
        streams=tuple(stream_pattern(glob) for glob in entry.streams),
        split=Split(tuple(sides), tuple(entry.split.values())) if entry.split else None,
        websocket=entry.websocket,
    )


def _resolve_upstream(
    name: str, options: _UpstreamSpec | None, settings: Settings, environ: Mapping[str, str]
) -> Upstream:
    env_name = f"{name.replace('-', '_').upper()}_URL"
    value = settings.upstream_url(name, environ)
    if not value or not value.strip(" ,"):
        raise RouteConfigError(f"upstream {name!r} is used by a route but {env_name} is not set")
    bases = tuple(
        dict.fromkeys(
            _base_url(env_name, item.strip()) for item in value.split(",") if item.strip()
        )
    )
    options = options or _UpstreamSpec()
    return Upstream(
        name=name,
        bases=bases,
        openapi_path=options.openapi or None,
        health_path=options.health,
        discover=options.discover == "dns",
    )


def _base_url(env_name: str, value: str) -> str:
    """One instance's base URL, normalised (default port dropped, no trailing /)."""
    try:
        url = urlsplit(value)
        port = url.port  # refuses a port that is not a number in range
    except ValueError as exc:
        raise RouteConfigError(f"{env_name}={value!r} is not a valid URL") from exc
    if url.scheme not in ("http", "https") or not url.hostname:
        raise RouteConfigError(f"{env_name}={value!r} must be an absolute http(s) URL")
    if url.query or url.fragment or url.username or url.password:
        raise RouteConfigError(f"{env_name}={value!r} must not have a query, fragment or user")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    default_port = 443 if url.scheme == "https" else 80
    origin = f"{url.scheme}://{host}" + (f":{port}" if port and port != default_port else "")
    return origin + url.path.rstrip("/")

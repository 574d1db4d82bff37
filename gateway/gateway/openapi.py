"""One OpenAPI document for the whole platform, merged from every service's own.

Each upstream with an ``openapi`` path in the route table publishes its document; the
gateway keeps

- only the operations a client can reach through the gateway: the path must be routed to
  that same upstream and the method allowed by the route (a service's internal ``/health``
  or schema endpoint disappears);
- the paths as the gateway exposes them (a document's ``servers`` path prefix is applied,
  the upstream's base path removed);
- every component; when two services use one name for different things, the later one is
  renamed ``<upstream>_<Name>`` and its references rewritten.

Documents are cached (``OPENAPI_CACHE_SECONDS``); a service that cannot be reached keeps
its last good document in the merge, and ``x-sources`` says which ones are stale or missing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from gateway.routing import RouteTable, Upstream

logger = logging.getLogger("gateway.openapi")

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def merge(
    documents: Mapping[str, Mapping[str, Any]],
    routes: RouteTable,
    *,
    title: str = "MicroServiceHub API",
    version: str = "1.0.0",
) -> dict[str, Any]:
    """Merge the upstreams' documents (by upstream name, in a stable order)."""
    upstreams = routes.upstreams
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": version,
            "description": "Every service's API as served by the gateway. Sources: "
            + (
                ", ".join(
                    f"{name} ({doc.get('info', {}).get('title', name)})"
                    for name, doc in documents.items()
                )
                or "none reachable yet"
            )
            + ".",
        },
        "paths": {},
        "components": {},
    }
    tags: dict[str, Any] = {}
    for name, document in documents.items():
        upstream = upstreams.get(name)
        if upstream is None:
            continue
        if str(document.get("openapi", "")).startswith("3.1"):
            merged["openapi"] = "3.1.0"
        document = _merge_components(name, document, merged["components"])
        for path, item in _public_paths(upstream, document):
            route = routes.match(path)
            if route is None or route.upstream.name != name or not isinstance(item, dict):
                continue
            allowed = {method.lower() for method in route.methods}
            kept = {
                key: value
                for key, value in item.items()
                if key not in _HTTP_METHODS or key in allowed
            }
            if any(key in _HTTP_METHODS for key in kept):
                merged["paths"].setdefault(path, {}).update(kept)
        for tag in document.get("tags", []) or []:
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)
    if tags:
        merged["tags"] = list(tags.values())
    if not merged["components"]:
        del merged["components"]
    return merged


def _public_paths(upstream: Upstream, document: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(path as the gateway exposes it, path item)`` for each path of ``document``."""
    prefix = ""
    servers = document.get("servers") or []
    if servers and isinstance(servers[0], dict):
        prefix = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
    base_path = urlsplit(upstream.base).path.rstrip("/")
    result = []
    for path, item in (document.get("paths") or {}).items():
        full = prefix + path
        if base_path:
            if not full.startswith(base_path + "/"):
                continue
            full = full[len(base_path) :]
        result.append((full, item))
    return result


def _merge_components(
    upstream: str, document: Mapping[str, Any], into: dict[str, Any]
) -> Mapping[str, Any]:
    """Add ``document``'s components to ``into``; return it with refs to renamed ones fixed."""
    components = document.get("components") or {}
    renames: dict[str, str] = {}
    for section, items in components.items():
        if not isinstance(items, dict):
            continue
        target = into.setdefault(section, {})
        for name, value in items.items():
            if name in target and target[name] != value:
                renames[f"#/components/{section}/{name}"] = (
                    f"#/components/{section}/{_UNSAFE_NAME.sub('_', upstream)}_{name}"
                )
    if renames:
        document = _rewrite_refs(document, renames)
        components = document.get("components") or {}
    for section, items in components.items():
        if not isinstance(items, dict):
            continue
        target = into.setdefault(section, {})
        for name, value in items.items():
            renamed = renames.get(f"#/components/{section}/{name}")
            target[renamed.rsplit("/", 1)[1] if renamed else name] = value
    return document


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: renames.get(value, value)
            if key == "$ref" and isinstance(value, str)
            else _rewrite_refs(value, renames)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


class OpenAPICache:
    """Fetches, keeps and merges the upstreams' documents."""

    def __init__(
        self,
        routes: RouteTable,
        session: Callable[[], aiohttp.ClientSession],
        *,
        ttl: float,
        timeout: float,
    ) -> None:
        self.routes = routes
        self._session = session
        self.ttl = ttl
        self.timeout = timeout
        self._documents: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, Any] | None = None
        self._merged_at = float("-inf")
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        if self._merged is not None and time.monotonic() - self._merged_at < self.ttl:
            return self._merged
        async with self._lock:
            if self._merged is None or time.monotonic() - self._merged_at >= self.ttl:
                self._merged = await self._refresh()
                self._merged_at = time.monotonic()
        return self._merged

    async def _refresh(self) -> dict[str, Any]:
        upstreams = [
            upstream
            for upstream in sorted(self.routes.upstreams.values(), key=lambda u: u.name)
            if upstream.openapi_path
        ]
        fetched = await asyncio.gather(*(self._fetch(upstream) for upstream in upstreams))
        sources: dict[str, dict[str, str]] = {}
        for upstream, document in zip(upstreams, fetched, strict=True):
            if document is not None:
                self._documents[upstream.name] = document
                sources[upstream.name] = {"status": "fresh"}
            elif upstream.name in self._documents:
                sources[upstream.name] = {"status": "stale"}
            else:
                sources[upstream.name] = {"status": "missing"}
        merged = merge(
            {u.name: self._documents[u.name] for u in upstreams if u.name in self._documents},
            self.routes,
        )
        merged["x-sources"] = sources
        return merged

    async def _fetch(self, upstream: Upstream) -> dict[str, Any] | None:
        assert upstream.openapi_path
        url = upstream.url_for(upstream.openapi_path, "")
        try:
            async with asyncio.timeout(self.timeout):
                async with self._session().get(
                    url, headers={"Accept": "application/json"}, allow_redirects=False
                ) as response:
                    if response.status != 200:
                        raise ValueError(f"HTTP {response.status}")
                    document = await response.json(content_type=None)
        except Exception as exc:
            logger.warning("cannot fetch the OpenAPI document of %s: %r", upstream.name, exc)
            return None
        if not isinstance(document, dict) or "paths" not in document:
            logger.warning("the OpenAPI document of %s is not JSON OpenAPI", upstream.name)
            return None
        return document

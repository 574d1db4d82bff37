"""One OpenAPI document for the whole platform, merged from every service's own.

Each upstream with an ``openapi`` path in the route table publishes its document; the
gateway keeps

- only the operations a client can reach through the gateway: the path must be routed to
  that same upstream and the method allowed by the route (a service's internal ``/health``
  or schema endpoint disappears);
- the paths as the gateway exposes them (a document's ``servers`` path prefix is applied,
  the upstream's base path removed);
- every component; when two services use one name for different things, the later one is
  renamed ``<upstream>_<Name>`` and its references rewritten;
- the errors the gateway itself can answer on each operation, whatever the service behind it
  does (:func:`edge_responses`: only those the route's configuration can produce), in the
  platform's error shape (components ``ErrorResponse``/``ErrorDetail`` from
  :mod:`msh_common.errors`, which every service publishes identically, so the merged document
  has one error type). A status the service documents keeps the service's entry, with the
  gateway's reason added to its description;
- one security scheme for the bearer token, ``security: []`` on anonymous operations, and every
  schema's title equal to its name (:mod:`gateway.openapi_contract`).

Documents are cached (``OPENAPI_CACHE_SECONDS``); a service that cannot be reached keeps
its last good document in the merge, and ``x-sources`` says which ones are stale or missing.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gateway.client import UpstreamClient
from gateway.openapi_contract import normalise
from gateway.openapi_examples import add_examples
from gateway.proxy import MAX_TARGET_BYTES
from gateway.routing import Route, RouteTable, Upstream
from msh_common.errors import ERROR_SCHEMA_REF, ERROR_SCHEMAS

logger = logging.getLogger("gateway.openapi")

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def edge_responses(route: Route, method: str, operation: Mapping[str, Any]) -> dict[str, str]:
    """Status -> description of what the gateway itself answers for ``method`` on ``route``
    (see proxy.py), before or instead of the upstream's answer."""
    auth = route.auth_for(method.upper())
    unavailable = [
        "`service_unavailable`: the service's circuit breaker is open (`Retry-After`)",
        "`upstream_busy`: every connection to the service is in use (`Retry-After`)",
    ]
    if auth != "none":
        unavailable.append("`auth_unavailable`: tokens cannot be verified right now")
    answers = {
        "400": "`token_in_query`: a token in the query string (send an Authorization header); "
        "`bad_request`: a '.' or '..' path segment, or a malformed request framing",
    }
    if auth != "none":
        answers["401"] = "`not_authenticated`, `invalid_token`: no valid bearer access token"
    if auth == "staff":
        answers["403"] = "`permission_denied`: this needs a staff account"
    if "requestBody" in operation:
        answers["413"] = f"`payload_too_large`: the body is over {route.max_body_bytes} bytes"
    answers["414"] = f"`uri_too_long`: the path and query are over {MAX_TARGET_BYTES} bytes"
    limits = []
    if route.rate_limit != "none":
        limits.append("`rate_limited`: too many requests; see `Retry-After`")
    if route.streams:
        limits.append("`too_many_streams`: this user holds too many open event streams")
    if limits:
        answers["429"] = "; ".join(limits)
    answers["502"] = "`bad_gateway`: the service cannot be reached"
    answers["503"] = "; ".join(unavailable)
    answers["504"] = "`upstream_timeout`: the service did not answer in time"
    return {status: f"At the gateway: {reason}." for status, reason in answers.items()}


def _with_edge_responses(route: Route, method: str, operation: Any) -> Any:
    """A copy of ``operation`` that also documents the gateway's own answers."""
    if not isinstance(operation, dict):
        return operation
    operation = copy.deepcopy(operation)
    responses = operation.setdefault("responses", {})
    for status, description in edge_responses(route, method, operation).items():
        documented = responses.get(status)
        if isinstance(documented, dict):
            # The service answers this status too: its entry stays, with both reasons.
            if "$ref" not in documented:
                documented["description"] = " ".join(
                    part for part in (documented.get("description", ""), description) if part
                )
        else:
            responses[status] = {
                "description": description,
                "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
            }
    return operation


def merge(
    documents: Mapping[str, Mapping[str, Any]],
    routes: RouteTable,
    *,
    title: str = "MicroServiceHub API",
    version: str = "1.0.0",
) -> dict[str, Any]:
    """Merge the upstreams' documents (by upstream name, in a stable order)."""
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version, "description": _sources(documents)},
        "paths": {},
        # The gateway's own first: a service's component of that name is the one renamed.
        "components": {"schemas": copy.deepcopy(dict(ERROR_SCHEMAS))},
    }
    tags: dict[str, Any] = {}
    for name, document in documents.items():
        upstream = routes.upstreams.get(name)
        if upstream is None:
            continue
        if str(document.get("openapi", "")).startswith("3.1"):
            merged["openapi"] = "3.1.0"
        document = _merge_components(name, document, merged["components"])
        for path, item in _public_paths(upstream, document):
            operations = _routed_operations(routes, name, path, item)
            _inherit_security(operations, document.get("security"))
            if operations:
                merged["paths"].setdefault(path, {}).update(operations)
        for tag in document.get("tags", []) or []:
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)
    if tags:
        merged["tags"] = list(tags.values())
    return add_examples(normalise(merged))


def _sources(documents: Mapping[str, Mapping[str, Any]]) -> str:
    named = ", ".join(
        f"{name} ({doc.get('info', {}).get('title', name)})" for name, doc in documents.items()
    )
    return (
        f"Every service's API as served by the gateway. Sources: {named or 'none reachable yet'}."
        " The events the services exchange: [/api/docs/events](/api/docs/events) (AsyncAPI 3 "
        "document at `/api/asyncapi.json`)."
    )


def _routed_operations(routes: RouteTable, upstream: str, path: str, item: Any) -> dict[str, Any]:
    """The part of a path item the gateway really routes to ``upstream`` (methods it allows,
    with the edge's own answers added); empty when it routes none of it there."""
    route = routes.match(path)
    if route is None or route.upstream.name != upstream or not isinstance(item, dict):
        return {}
    allowed = {method.lower() for method in route.methods}
    kept = {
        key: _with_edge_responses(route, key, value) if key in _HTTP_METHODS else value
        for key, value in item.items()
        if key not in _HTTP_METHODS or key in allowed
    }
    return kept if any(key in _HTTP_METHODS for key in kept) else {}


def _inherit_security(operations: dict[str, Any], default: Any) -> None:
    """A document-wide requirement, written on each operation that has none of its own (the
    merged document has no document-wide one: services differ)."""
    if default is None:
        return
    for method, operation in operations.items():
        if method in _HTTP_METHODS and isinstance(operation, dict) and "security" not in operation:
            operations[method] = {**operation, "security": default}


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
    """Add ``document``'s components to ``into``; return it with refs to renamed ones fixed.

    A component is renamed when ``into`` has one of that name that differs, as it reads once
    references to renamed components are rewritten: renaming one can make another differ.
    """
    original = document
    renames: dict[str, str] = {}
    while True:
        document = _rewrite_refs(original, renames) if renames else original
        components = document.get("components") or {}
        found = {
            f"#/components/{section}/{name}": (
                f"#/components/{section}/{_UNSAFE_NAME.sub('_', upstream)}_{name}"
            )
            for section, items in components.items()
            if isinstance(items, dict)
            for name, value in items.items()
            if f"#/components/{section}/{name}" not in renames
            and name in into.get(section, {})
            and into[section][name] != value
        }
        if not found:
            break
        renames.update(found)
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
        client: UpstreamClient,
        *,
        ttl: float,
        timeout: float,
    ) -> None:
        self.routes = routes
        self._client = client
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
            fetched = await self._client.get(url, self.timeout, {"Accept": "application/json"})
            if fetched.status != 200:
                raise ValueError(f"HTTP {fetched.status}")
            document = fetched.json()
        except Exception as exc:
            logger.warning("cannot fetch the OpenAPI document of %s: %r", upstream.name, exc)
            return None
        if not isinstance(document, dict) or "paths" not in document:
            logger.warning("the OpenAPI document of %s is not JSON OpenAPI", upstream.name)
            return None
        return document

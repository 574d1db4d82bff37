"""Application factory: ``python -m gateway`` serves ``create_app()`` (uvicorn ``--factory``).

Nothing is built at import time; configuration is read when the factory is called, so a
bad route table or setting stops the process at startup with a clear message.

The factory returns the :class:`~gateway.edge.Gateway` ASGI app. It owns a small FastAPI
app for what the gateway answers itself (health, metrics, OpenAPI, docs), whose lifespan
starts and stops the shared resources (HTTP clients, Redis synchronisation, log flusher).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from gateway.api import docs, events_docs, health, metrics
from gateway.auth import EdgeAuthenticator
from gateway.balancer import Balancer, HealthWatch, Instance, Target, target_of
from gateway.client import UpstreamClient
from gateway.cors import CorsPolicy
from gateway.edge import Gateway
from gateway.errors import install_error_handlers
from gateway.forwarding import ClientAddressResolver
from gateway.logging import AccessLog, setup_logging
from gateway.metrics import Metrics
from gateway.openapi import OpenAPICache
from gateway.otel import RequestSpans
from gateway.proxy import ReverseProxy
from gateway.ratelimit import RateLimiter
from gateway.response_headers import ResponseHeaders
from gateway.routing import RouteTable, load_route_table
from gateway.settings import Settings
from gateway.spa import from_setting as spa_from_setting
from gateway.streams import StreamSlots
from gateway.upstream import UpstreamPools
from gateway.websocket import WebSocketLimits, WebSocketProxy
from msh_auth import RevocationList
from msh_common.breaker import CircuitBreaker
from msh_common.gc_freeze import freeze_startup_objects
from msh_common.tracing import configure_tracing

logger = logging.getLogger("gateway")

# Each request allocates a few hundred short-lived containers; a larger first generation
# means fewer collections of them (measured in bench/gateway_bench.py).
_GC_THRESHOLDS = (10_000, 20, 20)


def revocation_list(settings: Settings) -> RevocationList | None:
    """Follows mainapp's revocation stream (on mainapp's Redis database, which may not be the
    one holding the rate-limit counters)."""
    url = settings.revocation_redis_url or settings.redis_url
    if not url:
        return None
    return RevocationList.from_url(url, max_staleness=settings.revocation_max_staleness_seconds)


def upstream_balancers(
    routes: RouteTable, pools: UpstreamPools, settings: Settings, registry: Metrics
) -> dict[str, Balancer]:
    """An instance balancer per upstream; each instance with its own breaker and counters."""
    balancers: dict[str, Balancer] = {}

    def forget_instance(name: str, target: Target) -> None:
        registry.forget_instance(name, target.label)

    for name, upstream in routes.upstreams.items():
        registry.register_upstream(name)

        def make_instance(target: Target, name: str = name) -> Instance:
            def changed(label: str, state: int) -> None:
                registry.instance_changed(name, label, state)
                registry.breaker_changed(name, balancers[name].state)

            breaker = CircuitBreaker(
                target.label,
                threshold=settings.breaker_failure_threshold,
                open_seconds=settings.breaker_open_seconds,
                on_change=changed,
            )
            return Instance(target, pools, breaker, registry.instance_counters(name, target.label))

        balancers[name] = Balancer(
            name,
            [target_of(base) for base in upstream.bases],
            make_instance,
            discover=upstream.discover,
            forget=partial(forget_instance, name),
        )
    return balancers


def create_app(settings: Settings | None = None) -> Gateway:
    """Build the gateway from ``settings`` (default: read from the environment)."""
    settings = settings or Settings()
    setup_logging(settings.log_level, settings.environment, settings.log_format)
    routes = load_route_table(settings.gateway_routes_file, settings)
    client = UpstreamClient()  # control plane: health probes, JWKS, OpenAPI
    pools = UpstreamPools(  # the proxied requests
        settings.upstream_max_connections,
        wait_seconds=settings.upstream_pool_wait_seconds,
        stream_limit=settings.upstream_stream_max_connections,
    )
    registry = Metrics()
    # As before: the access log is INFO; LOG_LEVEL=WARNING and above silence it.
    access_log = AccessLog(
        settings.environment,
        settings.log_format,
        enabled=settings.log_level in ("DEBUG", "INFO"),
    )
    auth = EdgeAuthenticator(
        client,
        settings.effective_jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        cache_seconds=settings.jwks_cache_seconds,
        min_refetch_seconds=settings.jwks_min_refetch_seconds,
        revocations=revocation_list(settings),
    )
    limiter = RateLimiter(
        {
            "anonymous": settings.rate_limit_anonymous,
            "user": settings.rate_limit_user,
            "strict": settings.rate_limit_strict,
        },
        settings.redis_url,
        sync_seconds=settings.rate_limit_sync_seconds,
        on_redis_state=lambda up: registry.redis_up.set(1 if up else 0),
    )
    balancers = upstream_balancers(routes, pools, settings, registry)
    watch = HealthWatch(
        ((balancers[name], upstream.health_path) for name, upstream in routes.upstreams.items()),
        dns_refresh_seconds=settings.dns_refresh_seconds,
        probe_seconds=settings.upstream_probe_seconds,
        probe_timeout=settings.health_timeout_seconds,
    )
    openapi = OpenAPICache(
        routes,
        client,
        ttl=settings.openapi_cache_seconds,
        timeout=settings.health_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter.start()
        access_log.start()
        await watch.start()
        if auth.revocations is not None:
            auth.revocations.start()  # follows Redis in a thread; no request waits for the load
        # Keys are fetched in the background: mainapp may still be starting.
        jwks = asyncio.create_task(auth.refresh())
        freeze_startup_objects(_GC_THRESHOLDS)
        logger.info(
            "gateway started",
            extra={"routes": {route.name: route.upstream.name for route in routes.routes}},
        )
        try:
            yield
        finally:
            if auth.revocations is not None:
                auth.revocations.stop()
            jwks.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await jwks
            await limiter.close()
            await watch.close()
            pools.close()
            client.close()
            await access_log.close()

    api = FastAPI(
        title="MicroServiceHub gateway",
        lifespan=lifespan,
        # /api/openapi.json and /api/docs are the platform's merged reference instead.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    api.state.settings = settings
    api.state.routes = routes
    api.state.upstream_client = client
    api.state.balancers = balancers
    api.state.metrics = registry
    api.state.openapi = openapi
    install_error_handlers(api)
    local_paths: set[str] = set()
    for router in (health.router, metrics.router, docs.router, events_docs.router):
        api.include_router(router)
        local_paths.update(route.path for route in router.routes)  # type: ignore[attr-defined]
    api.mount(docs.ASSETS_PATH, docs.assets())

    cors = CorsPolicy(settings.cors_allowed_origins)
    response_headers = ResponseHeaders(cors)
    proxy = ReverseProxy(
        routes,
        balancers,
        auth,
        limiter,
        registry,
        response_headers.decorate,
        retries=settings.upstream_retries,
        stream_slots=StreamSlots(settings.sse_max_streams_per_user),
    )
    return Gateway(
        api,
        routes,
        proxy,
        resolver=ClientAddressResolver(settings.trusted_proxies),
        cors=cors,
        headers=response_headers,
        metrics=registry,
        access_log=access_log,
        local_paths=frozenset(local_paths),
        local_prefixes=(docs.ASSETS_PATH + "/",),
        spa=spa_from_setting(settings.effective_frontend_dist),
        spans=RequestSpans() if configure_tracing("gateway") else None,
        websockets=WebSocketProxy(
            routes,
            balancers,
            auth,
            limiter,
            registry,
            WebSocketLimits(
                per_user=settings.ws_max_sockets_per_user,
                total=settings.ws_max_sockets,
                idle_seconds=settings.ws_idle_seconds,
                max_message_bytes=settings.ws_max_message_bytes,
            ),
        ),
    )

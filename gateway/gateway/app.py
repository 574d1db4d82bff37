"""Application factory: ``uvicorn --factory gateway.app:create_app``.

Nothing is built at import time; configuration is read when the factory is called, so a
bad route table or setting stops the process at startup with a clear message.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api.health import router as health_router
from gateway.client import UpstreamClient
from gateway.errors import install_error_handlers
from gateway.logging import setup_logging
from gateway.middleware import RequestContextMiddleware
from gateway.proxy import ReverseProxy
from gateway.routing import load_route_table
from gateway.settings import Settings

logger = logging.getLogger("gateway")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app from ``settings`` (default: read from the environment)."""
    settings = settings or Settings()
    setup_logging(settings.log_level, settings.environment)
    routes = load_route_table(settings.gateway_routes_file, settings)
    client = UpstreamClient(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await client.start()
        logger.info(
            "gateway started",
            extra={"routes": {route.prefix or "/": route.upstream.name for route in routes.routes}},
        )
        try:
            yield
        finally:
            await client.close()

    app = FastAPI(
        title="MicroServiceHub gateway",
        lifespan=lifespan,
        # The gateway's own docs would shadow upstream paths; services publish theirs.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # Let "/health/" and friends reach the route table instead of redirecting.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.routes = routes
    app.state.upstream_client = client

    install_error_handlers(app)
    app.include_router(health_router)
    # Whatever no gateway endpoint matches is proxied.
    app.router.default = ReverseProxy(routes, client, settings.gateway_max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app

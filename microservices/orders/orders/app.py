"""The app factory: ``uvicorn --factory orders.app:create_app``.

Nothing is built at import time: the factory reads the settings (a bad one stops the process at
start with a clear message) and wires the database, the JWKS cache, the catalog client, the
live-status listener and the after-commit outbox relay into ``app.state``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from msh_auth import JWKSCache, RevocationList
from msh_common.breaker import ThreadSafeCircuitBreaker
from msh_common.forwarding import TrustedProxies
from msh_common.logging import configure_logging
from msh_common.tracing import instrument

from .api import cart, health, live, orders, reports
from .api.body_limit import BodyLimitMiddleware
from .api.edge import EdgeMiddleware
from .api.error_docs import install_error_docs
from .api.errors import install_error_handlers
from .api.schemas import OrderStatusEvent
from .bus import service_events
from .catalog import CatalogClient
from .metrics import install_metrics
from .settings import SERVICE, Settings, get_settings
from .store.db import Database
from .store.live import StatusListener

logger = logging.getLogger("orders")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from ``settings`` (default: the environment's); tests pass their own,
    naming the real catalog and JWKS endpoint they started."""
    settings = settings or get_settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    db = Database(
        settings.database_url,
        pool_size=settings.orders_db_pool_size,
        max_overflow=settings.orders_db_max_overflow,
    )
    events = service_events(settings, lambda: db)
    db.on_outbox_commit = events.after_commit
    catalog_client = CatalogClient(
        settings.catalog_url,
        timeout=settings.orders_catalog_timeout_seconds,
        retries=settings.orders_catalog_retries,
        breaker=ThreadSafeCircuitBreaker(
            "catalog",
            threshold=settings.orders_catalog_breaker_failures,
            open_seconds=settings.orders_catalog_breaker_reset_seconds,
        ),
    )
    listener = StatusListener(settings.orders_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jwks.revocations.start()  # follows Redis in a thread, from start-up
        logger.info("orders started")
        try:
            yield
        finally:
            await listener.close()
            app.state.jwks.revocations.stop()
            events.stop()
            catalog_client.close()
            db.dispose()

    app = FastAPI(
        title="MicroServiceHub orders",
        version="1.0.0",
        description="Carts, checkout, the order saga, live order status and sales reports.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        # operationIds are the endpoint functions' names: snake_case, verb first, stable.
        generate_unique_id_function=lambda route: route.name,
        openapi_tags=[
            {"name": "cart", "description": "The signed-in user's cart, priced by the catalog."},
            {
                "name": "orders",
                "description": "Checkout (idempotent), the order saga's outcome, cancellation, "
                "and each order's live status.",
            },
            {"name": "reports", "description": "Sales for staff: totals by period, top products."},
            {"name": "health", "description": "Is the service up, with its database and broker."},
        ],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.catalog = catalog_client
    app.state.listener = listener
    revocations = RevocationList.from_url(
        settings.redis_url, max_staleness=settings.revocation_max_staleness_seconds
    )
    app.state.jwks = JWKSCache.from_url(
        settings.resolved_jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        revocations=revocations,
    )
    install_error_handlers(app)
    install_error_docs(app, models=[OrderStatusEvent])  # the live stream's event data
    for module in (health, cart, orders, live, reports):
        app.include_router(module.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.orders_max_body_bytes)
    app.add_middleware(EdgeMiddleware, trusted=TrustedProxies.parse(settings.trusted_proxies))
    install_metrics(app, db)
    if instrument(SERVICE, "psycopg", "urllib3"):  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="health,metrics")
    return app

"""The app factory: ``gunicorn 'catalog.app:create_app()'``.

Nothing is built at import time; configuration is read when the factory is called, so a bad
setting stops the process at start with a clear message.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_openapi3 import Info, OpenAPI

from catalog.api import register_routes
from catalog.api.bodies import install_bounded_json
from catalog.api.context import EXTENSION, CatalogContext, init_context
from catalog.api.docs import with_docstrings
from catalog.api.edge import ForwardedHeaders
from catalog.api.errors import (
    install_error_handlers,
    validation_error_response,
    without_default_validation_errors,
)
from catalog.api.schemas import ErrorResponse
from catalog.metrics import install_metrics
from catalog.settings import SERVICE, Settings, load_settings
from catalog.store import Store
from msh_auth import JWKSCache, RevocationList
from msh_common.forwarding import TrustedProxies
from msh_common.logging import configure_logging
from msh_common.tracing import instrument

BEARER_SCHEME: dict[str, Any] = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
}


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    jwks: JWKSCache | None = None,
) -> OpenAPI:
    """Build the catalog app; ``store`` and ``jwks`` default to what ``settings`` names."""
    settings = settings or load_settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    app = OpenAPI(
        __name__,
        info=Info(title="MicroServiceHub catalog", version="1.0.0"),
        security_schemes=BEARER_SCHEME,
        validation_error_status=422,
        validation_error_model=ErrorResponse,
        validation_error_callback=validation_error_response,
        doc_ui=False,  # the gateway serves the merged docs; we serve our document below
    )
    app.config["MAX_CONTENT_LENGTH"] = settings.catalog_max_body_bytes
    app.wsgi_app = ForwardedHeaders(  # type: ignore[method-assign]
        app.wsgi_app, TrustedProxies.parse(settings.trusted_proxies)
    )
    install_bounded_json(app)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's; in order
    app.url_map.strict_slashes = False
    init_context(
        app,
        CatalogContext(
            settings=settings,
            store=store or Store.connect(settings),
            jwks=jwks
            or JWKSCache.from_url(
                settings.jwks_endpoint,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                revocations=RevocationList.shared(
                    settings.redis_url, max_staleness=settings.revocation_max_staleness_seconds
                ),
            ),
        ),
    )
    install_error_handlers(app)
    register_routes(app)
    install_metrics(app, app.extensions[EXTENSION].store)
    if instrument(SERVICE, "pymongo"):  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app, excluded_urls="health,metrics")

    @app.get("/openapi.json", doc_ui=False)
    def openapi_document() -> Response:
        """This service's OpenAPI document (the gateway merges every service's)."""
        return jsonify(with_docstrings(app, without_default_validation_errors(app.api_doc)))

    return app

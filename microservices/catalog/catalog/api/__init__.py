"""HTTP routes, one module per resource, each with its input and output schemas."""

from __future__ import annotations

from flask_openapi3 import OpenAPI

from . import categories, health, products, quotes


def register_routes(app: OpenAPI) -> None:
    for module in (health, products, categories, quotes):
        app.register_api(module.bp)

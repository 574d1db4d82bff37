"""HTTP routes, one module per resource, each with its input and output schemas."""

from __future__ import annotations

from flask_openapi3 import OpenAPI

from . import categories, health, images, products, quotes


def register_routes(app: OpenAPI) -> None:
    for module in (health, products, categories, quotes, images):
        app.register_api(module.bp)

"""One way to declare a resource's blueprint."""

from __future__ import annotations

from collections.abc import Callable

from flask_openapi3 import APIBlueprint, Tag

from .schemas import ErrorResponse


def operation_id(*, name: str, path: str, method: str) -> str:
    """The view function's name: snake_case, verb first (``list_products``), stable."""
    return name


def resource_blueprint(
    name: str, description: str, guard: Callable[[], None], *, validates_every_route: bool = True
) -> APIBlueprint:
    """The routes under ``/api/catalog/<name>``: tagged ``name``, with ``guard`` (who may call
    what) before every request; when every route validates some input, the 422 it can answer is
    documented on all of them (else each route lists its own)."""
    blueprint = APIBlueprint(
        name,
        f"catalog.api.{name}",
        url_prefix=f"/api/catalog/{name}",
        abp_tags=[Tag(name=name, description=description)],
        abp_responses={422: ErrorResponse} if validates_every_route else None,
        operation_id_callback=operation_id,
    )
    blueprint.before_request(guard)
    return blueprint

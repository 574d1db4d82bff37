"""``/api/catalog/categories``: list (public), create (staff)."""

from __future__ import annotations

from flask import Response, jsonify
from pydantic import BaseModel, Field

from catalog.domain.slugs import slugify
from catalog.store.products import Conflict
from msh_common.text_types import MultilineText, PlainText

from .auth import SECURITY
from .blueprints import resource_blueprint
from .context import context
from .errors import ApiError, invalid
from .guards import staff_writes
from .schemas import JSON_BODY, STAFF, Input, Slug, errors

bp = resource_blueprint(
    "categories", "Product categories", staff_writes, validates_every_route=False
)


class CategoryOut(BaseModel):
    slug: str
    name: str
    description: str
    product_count: int = Field(description="active products in the category")


class CategoryList(BaseModel):
    items: list[CategoryOut]


class CategoryCreate(Input):
    name: PlainText = Field(min_length=1, max_length=100)
    slug: Slug | None = Field(None, description="default: from the name")
    description: MultilineText = Field("", max_length=1000)


def category_out(doc: dict, count: int) -> dict:
    return CategoryOut(
        slug=doc["_id"],
        name=doc["name"],
        description=doc.get("description", ""),
        product_count=count,
    ).model_dump(mode="json")


@bp.get("", responses={200: CategoryList})
def list_categories() -> Response:
    """Every category, by name, with its number of active products."""
    store = context().store
    counts = store.products.counts_by_category()
    items = [category_out(doc, counts.get(doc["_id"], 0)) for doc in store.categories.all()]
    return jsonify({"items": items})


@bp.post(
    "",
    responses={201: CategoryOut, **errors(*STAFF, *JSON_BODY, 409, 422)},
    security=SECURITY,
)
def create_category(body: CategoryCreate) -> Response:
    """Create a category (staff)."""
    slug = body.slug or slugify(body.name)
    if not slug:
        raise invalid({"slug": ["cannot derive a slug from the name; send one"]})
    try:
        doc = context().store.categories.create(slug, body.name, body.description)
    except Conflict as exc:
        raise ApiError(409, exc.message, fields={exc.field: [exc.message]}) from exc
    response = jsonify(category_out(doc, 0))
    response.status_code = 201
    return response

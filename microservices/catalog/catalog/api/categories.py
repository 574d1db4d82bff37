"""``/api/catalog/categories``: list (public), create and edit (staff).

A category names the attributes of its products for people: ``attribute_labels`` maps an
attribute's name to its label (``weight_g`` -> "Weight (g)"), which the shop shows instead of the
name; an attribute without a label is shown by its name.
"""

from __future__ import annotations

from typing import Annotated

from flask import Response, jsonify
from pydantic import BaseModel, Field

from catalog.domain.keys import KEY_PATTERN, MAX_ATTRIBUTES
from catalog.domain.slugs import slugify
from catalog.store.products import Conflict
from msh_common.text_types import MultilineText, PlainText

from .auth import SECURITY
from .blueprints import resource_blueprint
from .context import context
from .errors import ApiError, invalid, not_found
from .guards import staff_writes
from .schemas import JSON_BODY, STAFF, Input, Slug, errors

Label = Annotated[PlainText, Field(min_length=1, max_length=60)]

bp = resource_blueprint(
    "categories", "Product categories", staff_writes, validates_every_route=False
)


AttributeLabels = Annotated[
    dict[Annotated[str, Field(pattern=KEY_PATTERN)], Label],
    Field(
        max_length=MAX_ATTRIBUTES,
        description="attribute name -> label shown in the shop",
        examples=[{"weight_g": "Weight (g)", "origin": "Origin"}],
    ),
]


class CategoryOut(BaseModel):
    slug: str
    name: str
    description: str
    attribute_labels: dict[str, str] = Field(
        description="attribute name -> label shown in the shop"
    )
    product_count: int = Field(description="active products in the category")


class CategoryList(BaseModel):
    items: list[CategoryOut]


class CategoryCreate(Input):
    name: PlainText = Field(min_length=1, max_length=100)
    slug: Slug | None = Field(None, description="default: from the name")
    description: MultilineText = Field("", max_length=1000)
    attribute_labels: AttributeLabels = Field(default_factory=dict)


class CategoryPatch(Input):
    """Only the fields sent change; the slug never does."""

    name: PlainText | None = Field(None, min_length=1, max_length=100)
    description: MultilineText | None = Field(None, max_length=1000)
    attribute_labels: AttributeLabels | None = Field(None, description="replaces the labels")


def category_out(doc: dict, count: int) -> dict:
    return CategoryOut(
        slug=doc["_id"],
        name=doc["name"],
        description=doc.get("description", ""),
        attribute_labels=doc.get("attribute_labels", {}),
        product_count=count,
    ).model_dump(mode="json")


@bp.get("", responses={200: CategoryList})
def list_categories() -> Response:
    """Every category, by name.

    Each with its number of active products and the labels of its products' attributes.
    """
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
    """Create a category (staff).

    The slug defaults to one made from the name and is unique (409).
    """
    slug = body.slug or slugify(body.name)
    if not slug:
        raise invalid({"slug": ["cannot derive a slug from the name; send one"]})
    try:
        doc = context().store.categories.create(
            slug, body.name, body.description, body.attribute_labels
        )
    except Conflict as exc:
        raise ApiError(409, exc.message, fields={exc.field: [exc.message]}) from exc
    response = jsonify(category_out(doc, 0))
    response.status_code = 201
    return response


class CategoryPath(BaseModel):
    slug: Slug


@bp.patch(
    "/<slug>",
    responses={200: CategoryOut, **errors(*STAFF, *JSON_BODY, 404, 422)},
    security=SECURITY,
)
def update_category(path: CategoryPath, body: CategoryPatch) -> Response:
    """Change a category (staff).

    Its name, description or attribute labels (replaced whole); the slug never changes.
    """
    changes = {
        name: value
        for name, value in body.model_dump(include=body.model_fields_set).items()
        if value is not None
    }
    if not changes:
        raise invalid({"body": ["send at least one field to change (not null)"]})
    store = context().store
    doc = store.categories.update(path.slug, changes)
    if doc is None:
        raise not_found("category")
    return jsonify(category_out(doc, store.products.counts_by_category().get(path.slug, 0)))

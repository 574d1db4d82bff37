"""``/api/catalog/products``: browse and search (public), edit and stock receipts (staff)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from flask import Response, jsonify, url_for
from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog.domain.keys import is_safe_key
from catalog.domain.pricing import InvalidPrice, format_price, parse_price
from catalog.domain.search import search_terms
from catalog.domain.slugs import slugify
from catalog.store.documents import as_utc
from catalog.store.products import Conflict, ProductQuery
from msh_common.text import MULTILINE_MESSAGE, has_control_characters
from msh_common.text_types import PlainText

from .auth import OPTIONAL_SECURITY, SECURITY, current_principal
from .blueprints import resource_blueprint
from .context import context
from .errors import ApiError, invalid, not_found
from .guards import staff_writes
from .schemas import (
    JSON_BODY,
    MAX_IMAGES,
    STAFF,
    Attributes,
    Currency,
    Description,
    ErrorResponse,
    Identifier,
    ImageUrl,
    Input,
    Name,
    Price,
    Quantity,
    Sku,
    Slug,
    errors,
)

bp = resource_blueprint("products", "Products, search and stock", staff_writes)

ATTRIBUTE_PREFIX = "attr."
MAX_ATTRIBUTE_FILTERS = 10
MAX_ATTRIBUTE_VALUE = 200


class ProductOut(BaseModel):
    id: str
    sku: str
    name: str
    slug: str
    description: str
    price: str = Field(examples=["12.50"])
    currency: str = Field(examples=["EUR"])
    category: str
    attributes: dict[str, Any]
    images: list[str]
    active: bool
    available: int = Field(description="units that can be ordered now")
    reserved: int = Field(description="units held for placed orders")
    received: int = Field(description="units ever received; available + reserved")
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    page: int
    page_size: int
    pages: int


class ProductListQuery(BaseModel):
    """Filters; also ``attr.<name>=<value>`` for attribute equality (e.g. ``attr.color=red``)."""

    model_config = ConfigDict(extra="allow")

    q: PlainText | None = Field(
        None, max_length=200, description="full-text search; all words match"
    )
    category: Slug | None = None
    min_price: str | None = Field(None, max_length=20, description="e.g. 10.00")
    max_price: str | None = Field(None, max_length=20, description="e.g. 99.99")
    currency: Currency | None = None
    in_stock: bool | None = None
    include_inactive: bool = Field(False, description="staff only")
    sort: Literal["relevance", "newest", "price_asc", "price_desc", "name"] = "relevance"
    page: int = Field(1, ge=1)
    page_size: int | None = Field(None, ge=1, description="capped (CATALOG_MAX_PAGE_SIZE)")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        """``?category=`` (an empty form field) means no category filter."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v == "" and k in cls.model_fields)}
        return data


class ProductPath(BaseModel):
    product_id: Identifier


class SlugPath(BaseModel):
    slug: Slug


class ProductCreate(Input):
    sku: Sku
    name: Name
    slug: Slug | None = Field(None, description="default: from the name")
    description: Description = ""
    price: Price
    currency: Currency | None = Field(None, description="default: CATALOG_DEFAULT_CURRENCY")
    category: Slug
    attributes: Attributes = Field(default_factory=dict)
    images: list[ImageUrl] = Field(default_factory=list, max_length=MAX_IMAGES)
    active: bool = True


class ProductPatch(Input):
    """Only the fields sent change; the SKU never does."""

    name: Name | None = None
    slug: Slug | None = None
    description: Description | None = None
    price: Price | None = None
    currency: Currency | None = None
    category: Slug | None = None
    attributes: Attributes | None = Field(None, description="replaces the attributes")
    images: list[ImageUrl] | None = Field(None, max_length=MAX_IMAGES)
    active: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> ProductPatch:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"may not be null: {', '.join(sorted(nulls))}")
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class StockReceipt(Input):
    quantity: Quantity


def product_out(doc: dict[str, Any]) -> dict[str, Any]:
    return ProductOut(
        id=doc["_id"],
        sku=doc["sku"],
        name=doc["name"],
        slug=doc["slug"],
        description=doc.get("description", ""),
        price=format_price(doc["price_minor"]),
        currency=doc["currency"],
        category=doc["category"],
        attributes=doc.get("attributes", {}),
        images=doc.get("images", []),
        active=doc["active"],
        available=doc["available"],
        reserved=doc["reserved"],
        received=doc["received"],
        created_at=as_utc(doc["created_at"]),
        updated_at=as_utc(doc["updated_at"]),
    ).model_dump(mode="json")


def _product(doc: dict[str, Any] | None, status: int = 200) -> Response:
    if doc is None:
        raise not_found("product")
    response = jsonify(product_out(doc))
    response.status_code = status
    return response


# include_inactive=true is for staff: 401/403/503 as for writes.
@bp.get("", responses={200: ProductPage, **errors(*STAFF, 422)}, security=OPTIONAL_SECURITY)
def list_products(query: ProductListQuery) -> Response:
    """Browse and search products, one page at a time.

    Active products only, unless staff ask for ``include_inactive=true``. ``q`` matches every
    word (name, description, category, SKU, attribute values); filters combine: ``category``,
    ``min_price``/``max_price`` (decimal strings), ``currency``, ``in_stock``, and up to 10
    ``attr.<name>=<value>`` (e.g. ``attr.roast=light``). Unknown parameters are
    refused (422), never ignored. The answer carries the total count and the number of pages.
    """
    settings = context().settings
    page_size = query.page_size or settings.catalog_default_page_size
    problems: dict[str, list[str]] = {}
    if page_size > settings.catalog_max_page_size:
        problems["page_size"] = [f"at most {settings.catalog_max_page_size}"]
    if query.page > settings.catalog_max_page:
        problems["page"] = [f"at most {settings.catalog_max_page}; narrow the search instead"]
    prices = {}
    for name in ("min_price", "max_price"):
        value = getattr(query, name)
        if value is not None:
            try:
                prices[name] = parse_price(value, allow_zero=True)
            except InvalidPrice as exc:
                problems[name] = [str(exc)]
    attributes = _attribute_filters(query.model_extra or {}, problems)
    if problems:
        raise invalid(problems)
    if query.include_inactive:
        principal = current_principal(required=True)
        if principal is None or not principal.is_staff:
            raise ApiError(403, "Only staff may list inactive products.")
    product_query = ProductQuery(
        terms=tuple(search_terms(query.q or "")),
        category=query.category,
        min_price_minor=prices.get("min_price"),
        max_price_minor=prices.get("max_price"),
        currency=query.currency,
        attributes=attributes,
        in_stock=query.in_stock,
        include_inactive=query.include_inactive,
        sort=query.sort,
        page=query.page,
        page_size=page_size,
    )
    items, total = context().store.products.search(product_query)
    return jsonify(
        {
            "items": [product_out(doc) for doc in items],
            "total": total,
            "page": query.page,
            "page_size": page_size,
            "pages": math.ceil(total / page_size),
        }
    )


def _attribute_filters(extra: dict[str, Any], problems: dict[str, list[str]]) -> dict[str, str]:
    """``attr.<name>=<value>`` parameters; anything else unknown is refused, not ignored."""
    filters: dict[str, str] = {}
    for key, value in extra.items():
        if not key.startswith(ATTRIBUTE_PREFIX):
            problems[key] = ["unknown query parameter"]
            continue
        name = key.removeprefix(ATTRIBUTE_PREFIX)
        if not is_safe_key(name):
            problems[key] = ["attribute names are letters, digits, '_' and '-' only"]
        elif not isinstance(value, str) or len(value) > MAX_ATTRIBUTE_VALUE:
            problems[key] = [f"at most {MAX_ATTRIBUTE_VALUE} characters"]
        elif has_control_characters(value, multiline=True):  # as stored values (keys.py)
            problems[key] = [MULTILINE_MESSAGE]
        else:
            filters[name] = value
    if len(filters) > MAX_ATTRIBUTE_FILTERS:
        problems["attr"] = [f"at most {MAX_ATTRIBUTE_FILTERS} attribute filters"]
    return filters


@bp.get("/<product_id>", responses={200: ProductOut, 404: ErrorResponse})
def get_product(path: ProductPath) -> Response:
    """One product by id.

    Inactive products too: order history still names them. ``available`` is what can be ordered
    now, ``reserved`` what orders hold, ``received`` every unit ever booked in.
    """
    return _product(context().store.products.get(path.product_id))


@bp.get("/by-slug/<slug>", responses={200: ProductOut, 404: ErrorResponse})
def get_product_by_slug(path: SlugPath) -> Response:
    """One product by its URL slug.

    The shop's product pages are addressed by slug (``/products/<slug>``); slugs are unique.
    """
    return _product(context().store.products.get_by_slug(path.slug))


@bp.post(
    "",
    responses={201: ProductOut, **errors(*STAFF, *JSON_BODY, 409, 422)},
    security=SECURITY,
)
def create_product(body: ProductCreate) -> Response:
    """Create a product (staff).

    It has no stock until a receipt is recorded (``POST .../stock``). The slug defaults to one
    made from the name; SKU and slug are unique (409). ``images`` are paths on the shop's own
    origin (upload pictures with ``POST /api/catalog/images``).
    """
    fields = body.model_dump(exclude={"price"})
    fields["price_minor"] = parse_price(body.price)
    fields["currency"] = _currency(body.currency)
    _check_category(body.category)
    slug_explicit = body.slug is not None
    fields["slug"] = body.slug or slugify(body.name) or slugify(body.sku)
    try:
        doc = context().store.products.create(fields, slug_explicit=slug_explicit)
    except Conflict as exc:
        raise ApiError(409, exc.message, fields={exc.field: [exc.message]}) from exc
    response = _product(doc, status=201)
    response.headers["Location"] = url_for(".get_product", product_id=doc["_id"])
    return response


@bp.patch(
    "/<product_id>",
    responses={200: ProductOut, **errors(*STAFF, *JSON_BODY, 404, 409, 422)},
    security=SECURITY,
)
def update_product(path: ProductPath, body: ProductPatch) -> Response:
    """Change some fields of a product (staff).

    Only the fields sent change; ``attributes`` and ``images`` are replaced whole; the SKU never
    changes. ``{"active": false}`` deactivates it.
    """
    changes = body.model_dump(include=body.model_fields_set, exclude={"price"})
    if "price" in body.model_fields_set:
        changes["price_minor"] = parse_price(body.price or "")
    if "currency" in changes:
        changes["currency"] = _currency(changes["currency"])
    if "category" in changes:
        _check_category(changes["category"])
    try:
        doc = context().store.products.update(path.product_id, changes)
    except Conflict as exc:
        raise ApiError(409, exc.message, fields={exc.field: [exc.message]}) from exc
    return _product(doc)


@bp.post(
    "/<product_id>/deactivate",
    responses={200: ProductOut, **errors(*STAFF, 404, 422)},
    security=SECURITY,
)
def deactivate_product(path: ProductPath) -> Response:
    """Take a product off sale (staff).

    Hidden from browsing and refused for new orders; what is already reserved stays reserved.
    """
    return _product(context().store.products.update(path.product_id, {"active": False}))


@bp.delete(
    "/<product_id>",
    responses={204: None, **errors(*STAFF, 404, 409, 422)},
    security=SECURITY,
)
def delete_product(path: ProductPath) -> Response:
    """Delete a product (staff).

    Refused (409) while stock is reserved for orders: deactivate it instead.
    """
    try:
        deleted = context().store.products.delete(path.product_id)
    except Conflict as exc:
        raise ApiError(409, exc.message, fields={exc.field: [exc.message]}) from exc
    if not deleted:
        raise not_found("product")
    return Response(status=204)


@bp.post(
    "/<product_id>/stock",
    responses={200: ProductOut, **errors(*STAFF, *JSON_BODY, 404, 422)},
    security=SECURITY,
)
def receive_stock(path: ProductPath, body: StockReceipt) -> Response:
    """Record a receipt of stock (staff).

    ``available`` and ``received`` grow together by ``quantity``; reservations are untouched.
    """
    return _product(context().store.stock.receive(path.product_id, body.quantity))


def _currency(code: str | None) -> str:
    settings = context().settings
    code = code or settings.catalog_default_currency
    if code not in settings.currencies:
        accepted = ", ".join(sorted(settings.currencies))
        raise invalid({"currency": [f"accepted currencies: {accepted}"]})
    return code


def _check_category(slug: str) -> None:
    if not context().store.categories.exists(slug):
        raise invalid({"category": [f"no category {slug!r}; create it first"]})

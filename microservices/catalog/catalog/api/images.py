"""``/api/catalog/images``: product images the catalog stores itself (GridFS).

Staff upload a picture's bytes as the request body; whatever the ``Content-Type`` says, the type
is read from the bytes, the picture is re-encoded without its metadata and a thumbnail is made
(:mod:`catalog.domain.images`). Anyone may fetch an image: an image's id never names other
bytes, so answers are cacheable for a year, with an ``ETag`` for revalidation.
"""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from pydantic import BaseModel, Field

from catalog.domain.images import ImageRefused, process
from catalog.store.images import THUMBNAIL_SUFFIX
from catalog.store.products import Conflict

from .auth import SECURITY
from .blueprints import resource_blueprint
from .context import context
from .errors import ApiError, not_found
from .guards import staff_writes_any_body
from .products import ProductOut, product_out
from .schemas import MAX_IMAGES, STAFF, Identifier, errors

# Public, for a year, never revalidated while fresh: an image's bytes never change.
CACHE_CONTROL = "public, max-age=31536000, immutable"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


bp = resource_blueprint(
    "images",
    "Product images (stored by the catalog)",
    staff_writes_any_body,
    validates_every_route=False,
)


class UploadQuery(BaseModel):
    product_id: Identifier = Field(description="the product the image is added to")


class ImagePath(BaseModel):
    image_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="from the image's URL")


def image_url(image_id: str) -> str:
    return f"/api/catalog/images/{image_id}"


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The picture's bytes (JPEG, PNG or WebP; the type is read from them).",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES},
    }
}


@bp.post(
    "",
    responses={201: ProductOut, **errors(*STAFF, 404, 409, 413, 415, 422)},
    security=SECURITY,
    openapi_extensions=_UPLOAD_BODY,
)
def upload_image(query: UploadQuery) -> Response:
    """Add an image to a product (staff).

    The body is the picture's bytes. Stored re-encoded from its pixels alone (no metadata), with
    a thumbnail; answers the product with the image's path appended to ``images``. 415
    ``unsupported_media_type``: not a JPEG, PNG or WebP (read from the bytes); 422
    ``invalid_image``: not readable; 422 ``image_too_large``: over CATALOG_MAX_IMAGE_PIXELS; 413:
    over CATALOG_MAX_IMAGE_BYTES; 409: the product has 20 images already.
    """
    settings = context().settings
    request.max_content_length = settings.catalog_max_image_bytes
    store = context().store
    if store.products.get(query.product_id) is None:
        raise not_found("product")
    try:
        processed = process(request.get_data(), max_pixels=settings.catalog_max_image_pixels)
    except ImageRefused as exc:
        raise ApiError(
            415 if exc.code == "unsupported_media_type" else 422, exc.message, code=exc.code
        ) from exc
    image_id = store.images.add(query.product_id, processed)

    def append(images: list[str]) -> list[str]:
        if len(images) >= MAX_IMAGES:
            raise Conflict("images", f"A product has at most {MAX_IMAGES} images.")
        return [*images, image_url(image_id)]

    try:
        doc = store.products.change_images(query.product_id, append)
    except Conflict as exc:
        store.images.delete(image_id)
        raise ApiError(409, exc.message, fields={exc.field: [exc.message]}) from exc
    if doc is None:  # deleted meanwhile
        store.images.delete(image_id)
        raise not_found("product")
    response = jsonify(product_out(doc))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_image", image_id=image_id)
    return response


@bp.get("/<image_id>", responses={200: None, 304: None, **errors(404, 422)}, security=[])
def get_image(path: ImagePath) -> Response:
    """An image, as stored.

    Public. An image's id never names other bytes: cacheable for a year (``immutable``), and
    ``If-None-Match`` with its ``ETag`` answers 304.
    """
    return _serve(path.image_id)


@bp.get("/<image_id>/thumbnail", responses={200: None, 304: None, **errors(404, 422)}, security=[])
def get_image_thumbnail(path: ImagePath) -> Response:
    """An image's thumbnail, for lists.

    WebP, at most 480 pixels a side; cached like the image.
    """
    return _serve(path.image_id + THUMBNAIL_SUFFIX)


@bp.delete("/<image_id>", responses={204: None, **errors(*STAFF, 404, 422)}, security=SECURITY)
def delete_image(path: ImagePath) -> Response:
    """Remove an image (staff).

    From its product's ``images`` and from the store, thumbnail included.
    """
    store = context().store
    url = image_url(path.image_id)
    owner = store.products.find_by_image(url)
    if owner is None:
        raise not_found("image")
    store.products.change_images(owner["_id"], lambda images: [i for i in images if i != url])
    store.images.delete(path.image_id)
    return Response(status=204)


def _serve(file_id: str) -> Response:
    image = context().store.images.get(file_id)
    if image is None:
        raise not_found("image")
    response = Response(image.data, mimetype=image.content_type)
    response.set_etag(image.etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.make_conditional(request)  # 304 without a body when If-None-Match matches
    return response

"""Product images stored by the catalog: staff upload, the type read from the bytes, metadata
stripped, a thumbnail made, served with ETag and long caching; hostile uploads refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from catalog.domain.images import ImageKind, process, sniff

PIXELS = 25_000_000


def picture(kind: str = "JPEG", size: tuple[int, int] = (800, 600), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, kind, **save)
    return out.getvalue()


def with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    return picture("JPEG", exif=exif.tobytes(), comment=b"secret")


def upload(client, staff, product_id: str, data: bytes, content_type: str = "image/jpeg"):
    return client.post(
        f"/api/catalog/images?product_id={product_id}",
        data=data,
        headers={**staff, "Content-Type": content_type},
    )


def test_sniffing_reads_the_bytes_not_the_name():
    assert sniff(picture("JPEG")) is ImageKind.JPEG
    assert sniff(picture("PNG")) is ImageKind.PNG
    assert sniff(picture("WEBP")) is ImageKind.WEBP
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert sniff(b"GIF89a" + b"\0" * 20) is None


def test_metadata_is_stripped_and_a_thumbnail_made():
    original = with_exif()
    assert b"SpyCam" in original and b"secret" in original
    processed = process(original, max_pixels=PIXELS)
    assert b"SpyCam" not in processed.original.data and b"secret" not in processed.original.data
    assert dict(Image.open(io.BytesIO(processed.original.data)).getexif()) == {}
    assert (processed.original.width, processed.original.height) == (800, 600)
    thumb = Image.open(io.BytesIO(processed.thumbnail.data))
    assert thumb.format == "WEBP" and thumb.size == (480, 360)


def test_staff_upload_an_image_and_anyone_fetches_it_cached(client, staff, make_product):
    product = make_product(stock=1)
    response = upload(client, staff, product["_id"], with_exif(), "application/octet-stream")
    assert response.status_code == 201, response.get_json()
    [url] = response.get_json()["images"]
    assert response.headers["Location"] == url and url.startswith("/api/catalog/images/")

    image = client.get(url)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert b"SpyCam" not in image.data
    assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = image.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    thumb = client.get(url + "/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"
    assert thumb.headers["ETag"] != etag
    assert client.get(f"/api/catalog/products/{product['_id']}").get_json()["images"] == [url]

    assert client.delete(url, headers=staff).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(f"/api/catalog/products/{product['_id']}").get_json()["images"] == []


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"<svg onload='alert(1)'/>", 415, "unsupported_media_type"),
        (b"GIF89a" + b"\0" * 100, 415, "unsupported_media_type"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", 422, "invalid_image"),
        (picture("PNG", (6000, 5000)), 422, "image_too_large"),
    ],
)
def test_what_is_not_a_usable_picture_is_refused(
    client, staff, make_product, assert_error, data, status, code
):
    product = make_product(stock=1)
    assert_error(upload(client, staff, product["_id"], data, "image/png"), status, code)
    assert client.get(f"/api/catalog/products/{product['_id']}").get_json()["images"] == []


def test_an_upload_over_the_byte_limit_is_413(client, staff, make_product, assert_error, settings):
    product = make_product(stock=1)
    body = picture("PNG") + b"\0" * settings.catalog_max_image_bytes
    assert_error(upload(client, staff, product["_id"], body, "image/png"), 413)


def test_only_staff_upload_or_delete(client, customer, staff, make_product, assert_error):
    product = make_product(stock=1)
    assert_error(upload(client, {}, product["_id"], picture()), 401)
    assert_error(upload(client, customer, product["_id"], picture()), 403)
    assert_error(upload(client, staff, "no-such-product", picture()), 404)
    url = upload(client, staff, product["_id"], picture()).get_json()["images"][0]
    assert_error(client.delete(url, headers=customer), 403)
    assert client.get(url).status_code == 200
    assert_error(client.get("/api/catalog/images/" + "0" * 32), 404)
    assert_error(client.get("/api/catalog/images/not-an-id"), 422)

"""Product images as staff upload them, made safe to serve.

The type is read from the bytes, never from the request's header; the picture is decoded under a
pixel limit (a small file can unpack into gigabytes), then written again from its pixels alone:
EXIF (camera, GPS position), ICC and comment blocks, and anything appended to the file, stay
behind. A thumbnail is made for lists.
"""

from __future__ import annotations

import enum
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

THUMBNAIL_SIZE = (480, 480)


class ImageKind(enum.StrEnum):
    JPEG = "JPEG"
    PNG = "PNG"
    WEBP = "WEBP"

    @property
    def content_type(self) -> str:
        return f"image/{self.value.lower()}"


class ImageRefused(ValueError):
    """Not an image this shop takes; ``code`` says why (the API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Picture:
    """Encoded bytes ready to store and serve."""

    data: bytes
    kind: ImageKind
    width: int
    height: int

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    original: Picture
    thumbnail: Picture


def sniff(data: bytes) -> ImageKind | None:
    """The type the first bytes say (magic numbers), whatever the upload claimed."""
    if data.startswith(b"\xff\xd8\xff"):
        return ImageKind.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageKind.PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageKind.WEBP
    return None


def process(data: bytes, *, max_pixels: int) -> ProcessedImage:
    """Decode, check, re-encode and thumbnail an upload; :class:`ImageRefused` when it is not a
    JPEG, PNG or WebP picture within ``max_pixels``."""
    kind = sniff(data)
    if kind is None:
        raise ImageRefused("unsupported_media_type", "Send a JPEG, PNG or WebP image.")
    picture = _decode(data, kind, max_pixels)
    original = _encode(picture, kind)
    thumbnail = picture.copy()
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    return ProcessedImage(original, _encode(thumbnail, ImageKind.WEBP))


def _decode(data: bytes, kind: ImageKind, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind.value]) as opened:
                if opened.width * opened.height > max_pixels:
                    raise ImageRefused(
                        "image_too_large",
                        f"The image has {opened.width}x{opened.height} pixels; at most "
                        f"{max_pixels:,} in all.",
                    )
                opened.load()
                # Turned as the camera meant (the orientation tag is dropped with the rest).
                upright = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageRefused("invalid_image", "The file is not a readable image.") from exc
    except Image.DecompressionBombWarning as exc:
        raise ImageRefused("image_too_large", "The image has too many pixels.") from exc
    return upright


def _encode(picture: Image.Image, kind: ImageKind) -> Picture:
    """Written from the pixels only: no ``exif``, ``icc_profile``, comment or text chunks are
    passed on (Pillow writes some of those from ``info`` unless told otherwise)."""
    image = picture.copy()
    image.info = {}
    if kind is ImageKind.JPEG and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif kind is not ImageKind.JPEG and image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    if kind is ImageKind.JPEG:
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif kind is ImageKind.PNG:
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=82, method=4)
    return Picture(out.getvalue(), kind, image.width, image.height)

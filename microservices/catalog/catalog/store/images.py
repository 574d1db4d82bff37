"""Product images in GridFS (bucket ``images``): each upload is two files, the original
(``<id>``) and its thumbnail (``<id>.thumb``), never changed once written, so that their URLs
can be cached for ever."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import gridfs
from pymongo.database import Database

from catalog.domain.images import Picture, ProcessedImage

BUCKET = "images"
THUMBNAIL_SUFFIX = ".thumb"


@dataclass(frozen=True, slots=True)
class StoredImage:
    data: bytes
    content_type: str
    etag: str


class ImageStore:
    def __init__(self, db: Database) -> None:
        self.bucket = gridfs.GridFSBucket(db, bucket_name=BUCKET)

    def add(self, product_id: str, image: ProcessedImage) -> str:
        """Store both files; the new image's id."""
        image_id = uuid.uuid4().hex
        self._put(image_id, product_id, image.original)
        self._put(image_id + THUMBNAIL_SUFFIX, product_id, image.thumbnail)
        return image_id

    def get(self, file_id: str) -> StoredImage | None:
        try:
            with self.bucket.open_download_stream(file_id) as stream:
                metadata = stream.metadata or {}
                return StoredImage(stream.read(), metadata["content_type"], metadata["etag"])
        except gridfs.errors.NoFile:
            return None

    def delete(self, image_id: str) -> None:
        """Remove an image and its thumbnail (either may be gone already)."""
        for file_id in (image_id, image_id + THUMBNAIL_SUFFIX):
            with contextlib.suppress(gridfs.errors.NoFile):
                self.bucket.delete(file_id)

    def _put(self, file_id: str, product_id: str, picture: Picture) -> None:
        self.bucket.upload_from_stream_with_id(
            file_id,
            file_id,
            picture.data,
            metadata={
                "product_id": product_id,
                "content_type": picture.kind.content_type,
                "etag": picture.etag,
                "width": picture.width,
                "height": picture.height,
            },
        )

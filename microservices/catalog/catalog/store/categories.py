"""Categories: ``{_id: slug, name, description, created_at}``; a product names one by slug."""

from __future__ import annotations

from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from .documents import utcnow
from .products import Conflict


class CategoryStore:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def all(self) -> list[dict[str, Any]]:
        return list(self.collection.find({}).sort([("name", 1), ("_id", 1)]))

    def exists(self, slug: str) -> bool:
        return self.collection.find_one({"_id": slug}, {"_id": 1}) is not None

    def create(self, slug: str, name: str, description: str = "") -> dict[str, Any]:
        doc = {"_id": slug, "name": name, "description": description, "created_at": utcnow()}
        try:
            self.collection.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("slug", f"A category with slug {slug!r} exists.") from None
        return doc

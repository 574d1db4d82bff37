"""Categories: ``{_id: slug, name, description, attribute_labels, created_at}``; a product names
one by slug. ``attribute_labels`` maps the attribute names its products use to what people read
(``{"weight_g": "Weight (g)"}``)."""

from __future__ import annotations

from collections.abc import Mapping
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

    def get(self, slug: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": slug})

    def update(self, slug: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
        """Set some fields; the category as it is now, or None if there is none."""
        if not self.collection.update_one({"_id": slug}, {"$set": dict(changes)}).matched_count:
            return None
        return self.get(slug)

    def exists(self, slug: str) -> bool:
        return self.collection.find_one({"_id": slug}, {"_id": 1}) is not None

    def create(
        self,
        slug: str,
        name: str,
        description: str = "",
        attribute_labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        doc = {
            "_id": slug,
            "name": name,
            "description": description,
            "attribute_labels": dict(attribute_labels or {}),
            "created_at": utcnow(),
        }
        try:
            self.collection.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("slug", f"A category with slug {slug!r} exists.") from None
        return doc

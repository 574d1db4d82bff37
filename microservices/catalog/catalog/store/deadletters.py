"""Messages the catalog's worker gave up on, kept whole for operators to list and replay.

The message is kept as JSON text: a poison message may have keys MongoDB refuses or reads as
operators (``$``-prefixed, dotted), and it must come back exactly as it arrived.
"""

from __future__ import annotations

import builtins
import json
from typing import Any

from pymongo.collection import Collection

from .documents import new_id, utcnow

DEAD = "dead"
REPLAYED = "replayed"


class MongoDeadLetterStore:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def add(self, message: Any, error: str, attempts: int) -> None:
        envelope = message if isinstance(message, dict) else {}
        self.collection.insert_one(
            {
                "_id": new_id(),
                "message_json": json.dumps(message, default=str),
                "event_id": str(envelope.get("id", ""))[:64],
                "type": str(envelope.get("type", ""))[:100],
                "error": error,
                "attempts": attempts,
                "state": DEAD,
                "created_at": utcnow(),
            }
        )

    def list(self, *, include_replayed: bool = False) -> builtins.list[dict[str, Any]]:
        query = {} if include_replayed else {"state": DEAD}
        return list(self.collection.find(query).sort([("created_at", -1), ("_id", 1)]))

    def select(self, ids: builtins.list[str] | None = None) -> builtins.list[dict[str, Any]]:
        """The named dead letters (replayed or not), or every one not yet replayed."""
        query: dict[str, Any] = {"state": DEAD} if ids is None else {"_id": {"$in": ids}}
        return list(self.collection.find(query).sort([("created_at", 1), ("_id", 1)]))

    def mark_replayed(self, dead_letter_id: str) -> None:
        self.collection.update_one(
            {"_id": dead_letter_id}, {"$set": {"state": REPLAYED, "replayed_at": utcnow()}}
        )

    @staticmethod
    def message(dead_letter: dict[str, Any]) -> Any:
        return json.loads(dead_letter["message_json"])

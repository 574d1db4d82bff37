"""Messages the catalog's worker gave up on, kept whole for operators to list and replay.

The message is kept as JSON text: a poison message may have keys MongoDB refuses or reads as
operators (``$``-prefixed, dotted), and it must come back exactly as it arrived.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pymongo.collection import Collection

from msh_events.deadletters import DeadLetter as OperatorView

from .documents import as_utc, new_id, utcnow

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

    # What operators see and do (msh_events.deadletters).

    def listed(self, *, include_replayed: bool) -> builtins.list[OperatorView]:
        return [self._operator_view(doc) for doc in self.list(include_replayed=include_replayed)]

    @contextmanager
    def replaying(self, ids: Sequence[str] | None) -> Iterator[builtins.list[OperatorView]]:
        chosen = self.select(None if ids is None else builtins.list(ids))
        yield [self._operator_view(doc) for doc in chosen]
        for doc in chosen:
            self.mark_replayed(doc["_id"])

    def _operator_view(self, doc: dict[str, Any]) -> OperatorView:
        created_at = as_utc(doc["created_at"])
        assert created_at is not None  # set by add()
        return OperatorView(
            id=str(doc["_id"]),
            created_at=created_at,
            type=doc.get("type"),
            event_id=doc.get("event_id"),
            attempts=doc["attempts"],
            error=doc["error"],
            replayed_at=as_utc(doc["replayed_at"]) if doc.get("replayed_at") else None,
            message=self.message(doc),
        )

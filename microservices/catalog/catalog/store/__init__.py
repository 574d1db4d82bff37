"""Persistence on MongoDB (pymongo): one class per collection role, bundled by :class:`Store`.

Only single-document atomic operations are used: the local MongoDB-compatible server
(nx-27017) has no transactions, and each module says how it stays correct without them.
"""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database

from catalog.settings import Settings

from .categories import CategoryStore
from .deadletters import MongoDeadLetterStore
from .decisions import DecisionStore
from .images import ImageStore
from .indexes import ensure_indexes
from .outbox import MongoOutboxStore, adopt_old_outbox
from .products import ProductStore
from .stock import StockStore


class Store:
    """The catalog database; thread-safe (one pymongo client per process)."""

    def __init__(self, client: MongoClient, db: Database, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.products = ProductStore(db["products"])
        self.stock = StockStore(db["products"], db["stock_holds"])
        self.categories = CategoryStore(db["categories"])
        self.decisions = DecisionStore(db["order_decisions"], settings.events_claim_seconds)
        # the decisions carry the events that announce them
        self.outbox = MongoOutboxStore(db["order_decisions"], settings.outbox_claim_seconds)
        self.dead_letters = MongoDeadLetterStore(db["dead_letters"])
        self.images = ImageStore(db)

    @classmethod
    def connect(cls, settings: Settings) -> Store:
        """Connects lazily: nothing is contacted until the first operation."""
        client: MongoClient = MongoClient(
            settings.mongo_url,
            tz_aware=True,
            appname="catalog",
            serverSelectionTimeoutMS=settings.mongo_timeout_ms,
            connectTimeoutMS=settings.mongo_timeout_ms,
        )
        return cls(client, client[settings.catalog_mongo_db], settings)

    def ensure_indexes(self) -> None:
        ensure_indexes(self.db)

    def adopt_old_outbox(self) -> int:
        """Move what an earlier version's outbox collection still had to send onto the
        decisions (:func:`.outbox.adopt_old_outbox`); returns how many."""
        return adopt_old_outbox(self.db["outbox"], self.outbox)

    def ping(self) -> None:
        self.client.admin.command("ping")

    def close(self) -> None:
        self.client.close()


__all__ = ["Store"]

"""Short exclusive holds on a name, across threads and processes: ``with leases.hold(name)``.

``{_id: name, token, until}``: taken by inserting the document (the unique ``_id`` lets one
holder in), given back by deleting it. A holder that dies leaves its lease to run out
(``until``, epoch seconds), and the next one takes it over; others wait meanwhile. Used so that
two deliveries of one event, or two events about one order, never run side by side.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError


class LeaseBusy(RuntimeError):
    """The name stayed held for longer than a lease lasts (the caller is retried)."""


class Leases:
    def __init__(
        self, collection: Collection, seconds: float = 30.0, poll_interval: float = 0.05
    ) -> None:
        self.collection = collection
        self.seconds = seconds
        self.poll_interval = poll_interval

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        token = uuid.uuid4().hex
        self._acquire(name, token)
        try:
            yield
        finally:
            self.collection.delete_one({"_id": name, "token": token})

    def _acquire(self, name: str, token: str) -> None:
        deadline = time.monotonic() + self.seconds + 5
        while True:
            now = time.time()
            lease = {"token": token, "until": now + self.seconds}
            try:
                self.collection.insert_one({"_id": name, **lease})
                return
            except DuplicateKeyError:
                pass
            expired = self.collection.find_one_and_update(
                {"_id": name, "until": {"$lt": now}}, {"$set": lease}
            )
            if expired is not None:
                return  # its holder died
            if time.monotonic() > deadline:
                raise LeaseBusy(f"{name} is still held elsewhere")
            time.sleep(self.poll_interval)

"""Test helpers every suite shares: waiting for an observable outcome, and reading what waits
in a service's queue (kombu keeps each queue as a Redis list of JSON messages)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class RedisLists(Protocol):
    def lrange(self, name: str, start: int, end: int) -> Any: ...


def eventually(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy, and return that; fail (AssertionError)
    after ``timeout`` seconds, naming what was awaited (the check's docstring, if any)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout}s: {check.__doc__ or check}")
        time.sleep(interval)


def queued(broker: RedisLists, queue: str) -> list[dict[str, Any]]:
    """The event envelopes waiting in ``queue``, oldest first (kombu pushes on the left)."""
    envelopes = []
    for raw in reversed(broker.lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        envelopes.append(json.loads(body)[0][0])
    return envelopes

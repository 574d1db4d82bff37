"""A test's view of the session's Redis: empty when the test starts and when it ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis


@contextlib.contextmanager
def flushed_redis(url: str) -> Iterator[redis.Redis]:
    """A client of the Redis at ``url``, its database emptied before and after: the queues,
    unacknowledged messages and limits a test leaves do not reach the next one."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()

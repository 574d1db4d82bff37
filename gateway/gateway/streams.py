"""How many streams (SSE) each user holds open through this gateway process.

A stream holds an upstream connection for as long as the client listens; without a cap one
client could hold them all. Counted per process (each replica allows SSE_MAX_STREAMS_PER_USER):
a slot is taken when a stream starts and given back however it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gateway.errors import GatewayError

RETRY_AFTER_SECONDS = 5


class StreamSlots:
    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[str, int] = {}

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one of ``key``'s slots for the block; 429 when they are all taken."""
        held = self._open.get(key, 0)
        if held >= self.per_user:
            raise GatewayError(
                429,
                f"At most {self.per_user} live streams may be open at once; close one first.",
                code="too_many_streams",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._open[key] = held + 1
        try:
            yield
        finally:
            remaining = self._open[key] - 1
            if remaining:
                self._open[key] = remaining
            else:
                del self._open[key]

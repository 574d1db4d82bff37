"""Rate limiting shared by every gateway replica through Redis, without a Redis round trip
on the hot path.

Algorithm: a sliding-window counter (the weighted sum of the previous and the current fixed
window, as Cloudflare and Kong's "sliding" policy do), with windows aligned on the wall clock
so every replica counts into the same Redis key ``rl:<class>:<key>:<window>``.

- **default classes (anonymous, user):** each replica decides locally from the window's
  total as of the last synchronisation plus what it admitted since. Every
  ``RATE_LIMIT_SYNC_SECONDS`` one pipelined ``INCRBY`` per active key pushes the local
  counts and reads back the shared totals; keys close to their limit are also read
  (``GET``) at every synchronisation, so a replica learns of the others' traffic for a client
  about to be refused even while it sees none itself. A request therefore never waits for
  Redis; the price is that replicas can over-admit by what they admit between two
  synchronisations (at 100 ms, a fraction of a per-minute budget).
- **strict class (login, register, password reset):** few requests, small budgets, so
  precision matters more than microseconds: one Redis round trip per request (a Lua script
  that counts only admitted requests).
- **Redis down:** the gateway keeps serving. Counters keep running locally (each replica
  then enforces the limits on its own, so N replicas allow up to N times the limit), the
  pending counts are pushed when Redis is back, the strict class falls back to the same
  local counters, and ``gateway_rate_limit_redis_up`` drops to 0 with one warning logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.settings import Rate
from msh_common.aio import cancel_and_wait

logger = logging.getLogger("gateway.ratelimit")

# How long Redis may take before the strict class falls back to local counting, and how
# long it is left alone after a failure.
_REDIS_TIMEOUT = 0.25
_REDIS_BACKOFF = 1.0

# KEYS: current window, previous window. ARGV: limit, weight of the previous window, ttl.
# Returns {admitted (0/1), current count, previous count}.
_STRICT_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[2]) + current + 1 > tonumber(ARGV[1]) then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, current, previous}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one request, and what the RateLimit-* headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset),
        ]
        if not self.allowed:
            headers.append((b"retry-after", b"%d" % self.retry_after))
        return headers


class _Window:
    """One key's counts: ``synced`` (all replicas, as of the last sync) + ``pending``
    (admitted here since) in window ``index``; ``previous`` is the last window's total."""

    __slots__ = ("index", "pending", "previous", "synced")

    def __init__(self, index: int) -> None:
        self.index = index
        self.pending = 0
        self.synced = 0
        self.previous = 0

    def roll(self, index: int) -> None:
        self.previous = self.synced + self.pending if index == self.index + 1 else 0
        self.index = index
        self.pending = 0
        self.synced = 0


def _decide(
    rate: Rate, now: float, index: int, current: int, previous: int, admit: bool | None = None
) -> Decision:
    """Sliding-window arithmetic. ``current`` excludes this request; ``admit`` forces the
    outcome (when Redis decided)."""
    period = rate.period
    elapsed = now - index * period
    weight = 1.0 - elapsed / period
    estimate = previous * weight + current
    allowed = estimate + 1 <= rate.limit if admit is None else admit
    reset = max(1, math.ceil(period - elapsed))
    if allowed:
        remaining = max(0, int(rate.limit - estimate - 1))
        return Decision(True, rate.limit, remaining, reset, 0)
    return Decision(False, rate.limit, 0, reset, _retry_after(rate, elapsed, current, previous))


def _retry_after(rate: Rate, elapsed: float, current: int, previous: int) -> int:
    """Seconds until the sliding estimate admits one more request."""
    limit, period = rate.limit, rate.period
    if current + 1 <= limit and previous > 0:
        # The previous window's share has to shrink enough within this window.
        wait = period * (1 - (limit - current - 1) / previous) - elapsed
    else:
        # This window is full: wait for the next, where it counts as the previous one.
        wait = period - elapsed
        if current > 0:
            wait += max(0.0, period * (1 - (limit - 1) / current))
    return max(1, math.ceil(wait))


# (limit name, key, window, the window's index when pushed, how many were pushed)
_Push = tuple[str, str, _Window, int, int]


class RateLimiter:
    """Decides per (class, key); synchronises with Redis in the background."""

    def __init__(
        self,
        rates: dict[str, Rate],
        redis_url: str | None,
        *,
        sync_seconds: float = 0.1,
        on_redis_state: Callable[[bool], None] = lambda up: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rates = rates
        self.sync_seconds = sync_seconds
        self._clock = clock
        self._windows: dict[str, dict[str, _Window]] = {name: {} for name in rates}
        self._dirty: dict[str, set[str]] = {name: set() for name in rates}
        # Keys past half their budget in the current window: refreshed at every sync.
        self._watched: dict[str, set[str]] = {name: set() for name in rates}
        self._redis: aioredis.Redis | None = None
        self._script: Any = None
        if redis_url:
            self._redis = aioredis.Redis.from_url(
                redis_url,
                socket_timeout=_REDIS_TIMEOUT,
                socket_connect_timeout=_REDIS_TIMEOUT,
                health_check_interval=0,
            )
            self._script = self._redis.register_script(_STRICT_SCRIPT)
        self._redis_up = True
        self._redis_retry_at = 0.0
        self._on_redis_state = on_redis_state
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ decisions

    def hit(self, name: str, key: str) -> Decision:
        """Count one request of class ``name`` for ``key``, locally (no I/O)."""
        rate = self.rates[name]
        now = self._clock()
        index = int(now // rate.period)
        windows = self._windows[name]
        window = windows.get(key)
        if window is None:
            window = windows[key] = _Window(index)
        elif window.index != index:
            window.roll(index)
        decision = _decide(rate, now, index, window.synced + window.pending, window.previous)
        if decision.allowed:
            window.pending += 1
            if self._redis is not None:
                self._dirty[name].add(key)
        if decision.remaining * 2 < rate.limit and self._redis is not None:
            self._watched[name].add(key)
        return decision

    async def hit_shared(self, name: str, key: str) -> Decision:
        """Count one request with a Redis round trip (strict class); local when Redis is not
        there."""
        if self._redis is None or not self._redis_usable():
            return self._hit_local_only(name, key)
        rate = self.rates[name]
        now = self._clock()
        index = int(now // rate.period)
        weight = 1.0 - (now - index * rate.period) / rate.period
        try:
            admitted, current, previous = await self._script(
                keys=[self._key(name, key, index), self._key(name, key, index - 1)],
                args=[rate.limit, repr(weight), rate.period * 2 + 1],
            )
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)
            return self._hit_local_only(name, key)
        self._redis_ok()
        current = int(current) - 1 if admitted else int(current)
        return _decide(rate, now, index, current, int(previous), admit=bool(admitted))

    def _hit_local_only(self, name: str, key: str) -> Decision:
        decision = self.hit(name, key)
        self._dirty[name].discard(key)  # a shared-class count is never pushed twice
        return decision

    @staticmethod
    def _key(name: str, key: str, index: int) -> str:
        return f"rl:{name}:{key}:{index}"

    # ------------------------------------------------------------------ synchronisation

    def start(self) -> None:
        if self._redis is not None and self._task is None:
            self._task = asyncio.create_task(self._sync_forever(), name="ratelimit-sync")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self.sync()
            await self._redis.aclose()

    async def _sync_forever(self) -> None:
        sweep_at = 0.0
        while True:
            await asyncio.sleep(self.sync_seconds)
            try:
                await self.sync()
                now = time.monotonic()
                if now >= sweep_at:
                    self._forget_idle()
                    sweep_at = now + 10
            except Exception:  # never let the loop die
                logger.exception("rate-limit synchronisation failed")

    async def sync(self) -> None:
        """Push local counts to Redis and read back the shared totals, in one pipeline."""
        assert self._redis is not None
        if not self._redis_usable():
            return
        pipe = self._redis.pipeline(transaction=False)
        watched = self._watched_windows()
        for name, key, window in watched:
            pipe.get(self._key(name, key, window.index))
        batch = self._push_pending(pipe)
        if not batch and not watched:
            return
        try:
            results = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)
            self._take_back(batch)
            return
        self._redis_ok()
        for (_, _, window), total in zip(watched, results, strict=False):
            window.synced = max(window.synced, int(total or 0))
        increments = results[len(watched) :: 2]
        for (_, _, window, index, _), total in zip(batch, increments, strict=True):
            if window.index == index:
                window.synced = max(window.synced, int(total))

    def _push_pending(self, pipe: Any) -> list[_Push]:
        """Queue every window's local count on ``pipe`` (INCRBY, EXPIRE); what was queued."""
        batch: list[_Push] = []
        for name, keys in self._dirty.items():
            if not keys:
                continue
            self._dirty[name] = set()
            period = self.rates[name].period
            windows = self._windows[name]
            for key in keys:
                window = windows.get(key)
                if window is None or not window.pending:
                    continue
                sent = window.pending
                window.pending = 0
                window.synced += sent
                redis_key = self._key(name, key, window.index)
                pipe.incrby(redis_key, sent)
                pipe.expire(redis_key, period * 2 + 1)
                batch.append((name, key, window, window.index, sent))
        return batch

    def _take_back(self, batch: list[_Push]) -> None:
        """Counts Redis never got are local again, to be pushed next time."""
        for name, key, window, index, sent in batch:
            if window.index == index:
                window.pending += sent
                window.synced -= sent
                self._dirty[name].add(key)

    def _watched_windows(self) -> list[tuple[str, str, _Window]]:
        """Watched keys still in their window and not about to be pushed anyway."""
        result = []
        for name, keys in self._watched.items():
            if not keys:
                continue
            index = int(self._clock() // self.rates[name].period)
            windows = self._windows[name]
            for key in list(keys):
                window = windows.get(key)
                if window is None or window.index != index:
                    keys.discard(key)
                elif key not in self._dirty[name]:
                    result.append((name, key, window))
        return result

    def _forget_idle(self) -> None:
        """Drop keys whose windows no longer weigh on any decision."""
        now = self._clock()
        for name, windows in self._windows.items():
            oldest = int(now // self.rates[name].period) - 1
            for key in [key for key, window in windows.items() if window.index < oldest]:
                del windows[key]

    def _redis_usable(self) -> bool:
        return self._redis_up or time.monotonic() >= self._redis_retry_at

    def _redis_failed(self, exc: BaseException) -> None:
        self._redis_retry_at = time.monotonic() + _REDIS_BACKOFF
        if self._redis_up:
            self._redis_up = False
            logger.warning("Redis unavailable, rate limits are counted per replica: %r", exc)
            self._on_redis_state(False)

    def _redis_ok(self) -> None:
        if not self._redis_up:
            self._redis_up = True
            logger.info("Redis back, rate limits are shared again")
            self._on_redis_state(True)

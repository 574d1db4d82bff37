"""Token revocation that reaches every verifier: one Redis Stream, a local copy in each process.

Access tokens are stateless and live a few minutes, so logging out, changing a password or
deleting an account would leave them usable until they expire. mainapp therefore appends a
revocation to the stream ``msh:auth:revocations`` (:class:`RevocationWriter`): either a session
(``sid`` claim: every token of that login, refresh family included) or a user ("tokens of user U
issued before T are void"). Entries are trimmed once older than the longest access-token
lifetime, since by then every token they could void has expired anyway.

Each verifying process keeps a :class:`RevocationList`: a daemon thread loads the live entries,
then follows the stream with a blocking ``XREAD`` (a revocation reaches it within about a
second), and :meth:`RevocationList.check` is a dictionary lookup (no Redis round trip per request).
When Redis cannot be reached the local copy is served for at most ``max_staleness`` seconds;
after that :meth:`~RevocationList.check` raises :class:`RevocationUnavailable` (fail closed: the
service answers 503 ``auth_unavailable`` with ``Retry-After``) until the thread syncs again.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import redis

from .tokens import InvalidToken

log = logging.getLogger(__name__)
# What redis-py answers (decoded): its stubs type every reply as Any.
StreamEntries = list[tuple[str, dict[str, str]]]
StreamReply = list[tuple[str, StreamEntries]] | None

STREAM_KEY = "msh:auth:revocations"
DEFAULT_MAX_STALENESS_SECONDS = 30.0
RETRY_AFTER_SECONDS = 5


_SHARED: dict[tuple[str, float], RevocationList] = {}
_SHARED_LOCK = threading.Lock()


class RevocationUnavailable(Exception):
    """The revocation list has not been synced for too long: refuse authenticated requests
    (503 ``auth_unavailable``) rather than accept tokens that may have been revoked."""

    retry_after = RETRY_AFTER_SECONDS


class RevocationWriter:
    """Appends revocations to the stream (mainapp). Raises ``redis.RedisError`` when Redis is
    unreachable, so that the caller's transaction rolls back and nothing is half done."""

    def __init__(
        self, client: redis.Redis, *, max_token_lifetime: float, key: str = STREAM_KEY
    ) -> None:
        self._client = client
        self._lifetime = max_token_lifetime
        self.key = key

    @classmethod
    def from_url(
        cls, url: str, *, max_token_lifetime: float, key: str = STREAM_KEY
    ) -> RevocationWriter:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        return cls(client, max_token_lifetime=max_token_lifetime, key=key)

    def revoke_session(self, sid: str) -> None:
        """Void every token carrying ``sid`` (one login and all its rotations)."""
        now = time.time()
        self._append({"kind": "session", "subject": str(sid), "expires": now + self._lifetime})

    def revoke_user(self, user_id: str) -> None:
        """Void every token of ``user_id`` issued before the next whole second (``iat`` is
        whole seconds, so a token issued during this second is void too)."""
        not_before = math.floor(time.time()) + 1
        self._append(
            {
                "kind": "user",
                "subject": str(user_id),
                "not_before": not_before,
                "expires": not_before + self._lifetime,
            }
        )

    def _append(self, fields: Mapping[str, Any]) -> None:
        oldest_ms = int((time.time() - self._lifetime) * 1000)
        pipe = self._client.pipeline(transaction=False)
        pipe.xadd(
            self.key, {k: str(v) for k, v in fields.items()}, minid=oldest_ms, approximate=False
        )
        pipe.expire(self.key, math.ceil(self._lifetime) + 60)
        pipe.execute()


@dataclass(eq=False)
class RevocationList:
    """A process-local copy of the live revocations, kept current by a daemon thread.

    The thread starts on the first :meth:`check` (and again in a forked child, so it survives
    gunicorn's pre-fork model). The first check waits up to ``initial_wait`` seconds for the
    initial load. Works from sync and async code alike: :meth:`check` never touches the network.
    """

    client_factory: Callable[[], redis.Redis]
    _: KW_ONLY
    max_staleness: float = DEFAULT_MAX_STALENESS_SECONDS
    block_ms: int = 1000
    initial_wait: float = 2.0
    key: str = STREAM_KEY
    _sessions: dict[str, float] = field(init=False, default_factory=dict)  # sid -> forget at
    # user id -> (not_before, expires)
    _users: dict[str, tuple[float, float]] = field(init=False, default_factory=dict)
    _synced_at: float | None = field(init=False, default=None)  # monotonic, last good read
    _first_sync: threading.Event = field(init=False, default_factory=threading.Event)
    _pid: int | None = field(init=False, default=None)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _outage_reported: bool = field(init=False, default=False)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RevocationList:
        block_s = kwargs.get("block_ms", 1000) / 1000

        def connect() -> redis.Redis:
            return redis.Redis.from_url(
                url, socket_timeout=block_s + 2, socket_connect_timeout=2, decode_responses=True
            )

        return cls(connect, **kwargs)

    @classmethod
    def shared(
        cls, url: str, *, max_staleness: float = DEFAULT_MAX_STALENESS_SECONDS
    ) -> RevocationList:
        """One list (one thread, one connection) per Redis URL in this process, however many
        apps are built (a WSGI app factory called again, tests)."""
        with _SHARED_LOCK:
            key = (url, max_staleness)
            if key not in _SHARED:
                _SHARED[key] = cls.from_url(url, max_staleness=max_staleness)
            return _SHARED[key]

    # -- the hot path -------------------------------------------------------------------------

    def check(self, claims: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidToken` when the token's session or user is revoked, and
        :class:`RevocationUnavailable` when the local copy is too old to be trusted."""
        self._ensure_running()
        if self._synced_at is None:
            self._first_sync.wait(self.initial_wait)
        synced_at = self._synced_at
        if synced_at is None or time.monotonic() - synced_at > self.max_staleness:
            raise RevocationUnavailable("revocation list unavailable")
        now = time.time()
        sid = claims.get("sid")
        if isinstance(sid, str) and self._sessions.get(sid, 0) > now:
            raise InvalidToken("token revoked")
        user = self._users.get(str(claims.get("sub")))
        if user is not None and user[1] > now and _issued_at(claims) < user[0]:
            raise InvalidToken("token revoked")

    # -- the follower thread ------------------------------------------------------------------

    def start(self) -> None:
        """Start following now (at app start-up), rather than on the first check."""
        self._ensure_running()

    def _ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            if self._pid is not None:  # a forked child: the parent's thread did not come along
                self._synced_at = None
                self._first_sync = threading.Event()
            self._pid = os.getpid()
            self._stop.clear()
            thread = threading.Thread(target=self._run, name="msh-revocations", daemon=True)
            thread.start()

    def stop(self) -> None:
        """Stop following (tests); the next :meth:`check` starts again."""
        self._stop.set()
        self._pid = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow(self.client_factory())
            except redis.RedisError as exc:
                if not self._outage_reported:  # once per outage, not at every retry
                    log.warning("revocation list: redis unreachable (%s)", type(exc).__name__)
                    self._outage_reported = True
            self._stop.wait(0.5)

    def _follow(self, client: redis.Redis) -> None:
        try:
            last_id = self._load(client)
            pruned_at = time.monotonic()
            while not self._stop.is_set():
                reply: StreamReply = client.xread(  # type: ignore[assignment]
                    {self.key: last_id}, block=self.block_ms, count=1000
                )
                for _stream, entries in reply or []:
                    for entry_id, fields in entries:
                        self._apply(fields)
                        last_id = entry_id
                self._mark_synced()
                if time.monotonic() - pruned_at > 30:
                    self._prune()
                    pruned_at = time.monotonic()
        finally:
            client.close()

    def _load(self, client: redis.Redis) -> str:
        """Read every live entry; returns the id to follow from."""
        last_id = "0-0"
        while True:
            start = "-" if last_id == "0-0" else f"({last_id}"
            entries: StreamEntries = client.xrange(  # type: ignore[assignment]
                self.key, min=start, count=1000
            )
            for entry_id, fields in entries:
                self._apply(fields)
                last_id = entry_id
            if len(entries) < 1000:
                break
        self._prune()
        self._mark_synced()
        if self._outage_reported:
            log.warning("revocation list: following redis again")
            self._outage_reported = False
        return last_id

    def _mark_synced(self) -> None:
        self._synced_at = time.monotonic()
        self._first_sync.set()

    def _apply(self, fields: Mapping[str, str]) -> None:
        try:
            kind, subject, expires = fields["kind"], fields["subject"], float(fields["expires"])
            if kind == "session":
                self._sessions[subject] = max(expires, self._sessions.get(subject, 0))
            elif kind == "user":
                not_before = float(fields["not_before"])
                old = self._users.get(subject, (0.0, 0.0))
                self._users[subject] = (max(not_before, old[0]), max(expires, old[1]))
        except (KeyError, ValueError):
            log.warning("revocation list: malformed entry ignored")

    def _prune(self) -> None:
        now = time.time()
        self._sessions = {sid: exp for sid, exp in self._sessions.items() if exp > now}
        self._users = {uid: entry for uid, entry in self._users.items() if entry[1] > now}


def _issued_at(claims: Mapping[str, Any]) -> float:
    iat = claims.get("iat")
    return float(iat) if isinstance(iat, int | float) else 0.0


__all__ = [
    "STREAM_KEY",
    "RevocationList",
    "RevocationUnavailable",
    "RevocationWriter",
]

"""Fetching and caching mainapp's public keys (JWKS)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import jwt

from .revocation import RevocationList
from .tokens import InvalidToken, Principal, token_kid, verify_access_token
from .verified import VerifiedTokens

KeySet = Mapping[str, Any]  # kid -> public key object


def parse_jwks(document: Mapping[str, Any]) -> dict[str, Any]:
    """Public RSA signing keys of a JWKS document, by kid (other keys are ignored)."""
    keys: dict[str, Any] = {}
    for entry in document.get("keys", []):
        if entry.get("kty") != "RSA" or not entry.get("kid") or entry.get("use", "sig") != "sig":
            continue
        if "d" in entry:  # a private key has no business in a JWKS; refuse to use it
            continue
        keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256").key
    return keys


def fetch_jwks(url: str, timeout: float = 3.0) -> dict[str, Any]:
    """GET a JWKS document and parse it (blocking; for sync services)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - configured URL
        return parse_jwks(json.load(response))


@dataclass(eq=False)
class JWKSCache:
    """Keys kept for ``ttl`` seconds, fetched again at once on an unknown kid, but never more
    often than every ``min_refetch_interval`` seconds (a flood of made-up kids cannot turn into a
    flood of requests to mainapp). A token verified once is remembered until it expires
    (:class:`~msh_auth.verified.VerifiedTokens`), and forgotten when the key set changes.
    Thread-safe; the fetch function is injected so that async services can refresh it their own
    way."""

    fetch: Callable[[], Mapping[str, Any]]
    _: KW_ONLY
    issuer: str
    audience: str
    ttl: float = 300.0
    min_refetch_interval: float = 5.0
    leeway: float = 0
    revocations: RevocationList | None = None
    _keys: Mapping[str, Any] = field(init=False, default_factory=dict)
    _fetched_at: float = field(init=False, default=float("-inf"))
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _verified: VerifiedTokens = field(init=False)

    def __post_init__(self) -> None:
        self._verified = VerifiedTokens(leeway=self.leeway)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> JWKSCache:
        return cls(lambda: fetch_jwks(url), **kwargs)

    def keys(self, wanted_kid: str | None = None) -> Mapping[str, Any]:
        now = time.monotonic()
        stale = now - self._fetched_at > self.ttl
        unknown = wanted_kid is not None and wanted_kid not in self._keys
        if stale or (unknown and now - self._fetched_at > self.min_refetch_interval):
            with self._lock:
                if time.monotonic() - self._fetched_at > min(self.ttl, self.min_refetch_interval):
                    self.replace(self._fetch_or_keep())
        return self._keys

    def _fetch_or_keep(self) -> Mapping[str, Any]:
        try:
            return self.fetch()
        except Exception:
            if self._keys:
                return self._keys  # mainapp briefly unreachable: keep verifying with what we have
            raise

    def replace(self, keys: Mapping[str, Any]) -> None:
        self._verified.rekeyed(self._keys, keys)
        self._keys = dict(keys)
        self._fetched_at = time.monotonic()

    def verify(self, token: str) -> Principal:
        """Verify an access token; raises :class:`InvalidToken` (or the fetch error, when no key
        has ever been fetched). With ``revocations``, a revoked token is refused too and
        :class:`~msh_auth.revocation.RevocationUnavailable` says the list is too stale."""
        self.keys()  # fetched again once stale; a changed key set forgets every token
        principal = self._verified.get(token)
        if principal is None:
            keys = self.keys(token_kid(token))
            principal = verify_access_token(
                token, keys, issuer=self.issuer, audience=self.audience, leeway=self.leeway
            )
            self._verified.add(token, principal)
        if self.revocations is not None:
            self.revocations.check(principal.claims)
        return principal


__all__ = ["InvalidToken", "JWKSCache", "KeySet", "fetch_jwks", "parse_jwks"]

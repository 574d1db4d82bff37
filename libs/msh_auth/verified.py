"""Tokens already verified, remembered until they expire.

A shopper's token comes with every request, and each service behind the gateway verifies it
again (services never trust the gateway blindly). Verifying is two base64 and JSON decodings
and an RSA signature check, ~0.3 ms of CPU per request here (py-spy); a token seen before costs
one dictionary lookup and an expiry check instead. What can change about a verified token
is checked on every use all the same: its expiry here, its revocation by the caller, and the
keys it was verified with (the caller forgets everything when its key set changes).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .tokens import Principal

# ~2 KB a token: 10,000 tokens stay under ~20 MB.
DEFAULT_MAX_TOKENS = 10_000


class VerifiedTokens:
    """Principals of verified access tokens by the exact token string, until ``exp``.

    Bounded: when full, the oldest tenth is forgotten (dicts keep insertion order). Safe to
    share between threads: each operation is one dictionary call, and a token forgotten or
    evicted twice is no error.
    """

    def __init__(self, max_tokens: int = DEFAULT_MAX_TOKENS, *, leeway: float = 0) -> None:
        self.max_tokens = max_tokens
        self.leeway = leeway
        self._tokens: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        """The principal of ``token`` if it was verified and has not expired since."""
        remembered = self._tokens.get(token)
        if remembered is None:
            return None
        principal, expires_at = remembered
        if expires_at <= time.time():
            self._tokens.pop(token, None)
            return None
        return principal

    def add(self, token: str, principal: Principal) -> None:
        """Remember ``token``, just verified, until its ``exp`` (plus the leeway)."""
        if len(self._tokens) >= self.max_tokens:
            for oldest in list(self._tokens)[: max(1, self.max_tokens // 10)]:
                self._tokens.pop(oldest, None)
        self._tokens[token] = (principal, float(principal.claims["exp"]) + self.leeway)

    def clear(self) -> None:
        """Forget every token."""
        self._tokens.clear()

    def rekeyed(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
        """The key set (kid -> key) goes from ``before`` to ``after``: if its kids changed, a key
        may have been withdrawn and what it verified is verified no more, so every token is
        forgotten. True if so."""
        if after.keys() == before.keys():
            return False
        self.clear()
        return True

    def __len__(self) -> int:
        return len(self._tokens)

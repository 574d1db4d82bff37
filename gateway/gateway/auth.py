"""Edge authentication: bearer access tokens verified with mainapp's public keys.

The rules are ``msh_auth``'s (RS256 only, ``kid`` names the key, ``exp``/``iss``/``aud`` and
the required claims checked, ``token_type`` access), the same every service applies. What
this module adds is what an async edge needs:

- the JWKS is fetched with the gateway's own client (client.py; never blocking the event loop),
  refreshed in the background when older than ``JWKS_CACHE_SECONDS``, and fetched again at
  once for an unknown ``kid`` but at most every ``JWKS_MIN_REFETCH_SECONDS`` (made-up kids
  cannot flood mainapp); concurrent requests share one fetch;
- a verified token is remembered until its own ``exp``, so a client presenting the same
  token again costs a dictionary lookup instead of an RSA verification. The memory is
  dropped whenever the key set changes (a removed key stops being accepted at once);
- every request, remembered token or not, is checked against the revocation list
  (``msh_auth.RevocationList``, followed from Redis): a logged-out session or a deleted,
  deactivated or re-passworded account is a 401 ``invalid_token`` within about a second, and
  a list too stale to trust (Redis unreachable for ``REVOCATION_MAX_STALENESS_SECONDS``) is a
  503 ``auth_unavailable``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from gateway.client import FetchError, UpstreamClient
from msh_auth import (
    InvalidToken,
    Principal,
    RevocationList,
    RevocationUnavailable,
    VerifiedTokens,
    challenge,
    verify_access_token,
)
from msh_auth.jwks import parse_jwks
from msh_auth.tokens import token_kid

logger = logging.getLogger("gateway.auth")

_MAX_CACHED_TOKENS = 50_000
_FETCH_TIMEOUT_SECONDS = 3.0


class AuthError(Exception):
    """The request is refused at the edge. ``status`` 401/403/503; ``error`` per RFC 6750."""

    def __init__(self, status: int, code: str, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error = error  # the WWW-Authenticate "error" parameter

    @property
    def www_authenticate(self) -> str:
        return challenge(self.error, self.message)


def bearer_token(authorization: bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when absent."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer" or not token.strip():
        raise AuthError(
            401, "invalid_token", "Authorization must be 'Bearer <token>'.", "invalid_request"
        )
    try:
        return token.strip().decode("ascii")
    except UnicodeDecodeError:
        raise AuthError(401, "invalid_token", "Malformed token.", "invalid_token") from None


@dataclass(eq=False)
class EdgeAuthenticator:
    """Verifies access tokens; owns the public keys and the memory of verified tokens."""

    client: UpstreamClient
    jwks_url: str
    _: KW_ONLY
    issuer: str
    audience: str
    cache_seconds: float = 300.0
    min_refetch_seconds: float = 5.0
    revocations: RevocationList | None = None
    _keys: Mapping[str, Any] = field(init=False, default_factory=dict)
    _fetched_at: float = field(init=False, default=float("-inf"))
    _attempted_at: float = field(init=False, default=float("-inf"))
    _fetching: asyncio.Future[None] | None = field(init=False, default=None)
    _verified: VerifiedTokens = field(
        init=False, default_factory=lambda: VerifiedTokens(_MAX_CACHED_TOKENS)
    )

    async def verify(self, token: str) -> Principal:
        """The principal of a valid, unrevoked access token; raises :class:`AuthError`
        otherwise."""
        principal = await self._verify_signed(token)
        self._check_revoked(principal)
        return principal

    def _check_revoked(self, principal: Principal) -> None:
        if self.revocations is None:
            return
        try:
            self.revocations.check(principal.claims)
        except InvalidToken as exc:
            raise AuthError(
                401, "invalid_token", f"Token refused: {exc}.", "invalid_token"
            ) from None
        except RevocationUnavailable:
            raise AuthError(
                503, "auth_unavailable", "Tokens cannot be checked right now; try again shortly."
            ) from None

    async def _verify_signed(self, token: str) -> Principal:
        """Signature and claims, remembered per token until its ``exp``."""
        remembered = self._verified.get(token)
        if remembered is not None:
            return remembered
        try:
            kid = token_kid(token)
        except InvalidToken as exc:
            raise AuthError(
                401, "invalid_token", f"Token refused: {exc}.", "invalid_token"
            ) from None
        now = time.monotonic()
        if kid not in self._keys:
            await self.refresh(force=False)
        elif now - self._fetched_at > self.cache_seconds:
            self._background_refresh()
        if not self._keys:
            raise AuthError(
                503, "auth_unavailable", "Tokens cannot be verified right now; try again shortly."
            )
        try:
            principal = verify_access_token(
                token, self._keys, issuer=self.issuer, audience=self.audience
            )
        except InvalidToken as exc:
            raise AuthError(
                401, "invalid_token", f"Token refused: {exc}.", "invalid_token"
            ) from None
        self._verified.add(token, principal)
        return principal

    def _background_refresh(self) -> None:
        if self._fetching is None:
            task = asyncio.ensure_future(self.refresh(force=False))
            task.add_done_callback(lambda done: done.exception())

    async def refresh(self, *, force: bool = True) -> None:
        """Fetch the JWKS (joining a fetch already under way). Without ``force``, at most
        every ``min_refetch_seconds``. Failures are logged and keep the keys we have."""
        if self._fetching is not None:
            await asyncio.shield(self._fetching)
            return
        now = time.monotonic()
        if not force and now - self._attempted_at < self.min_refetch_seconds:
            return
        self._attempted_at = now
        self._fetching = asyncio.ensure_future(self._fetch())
        try:
            await asyncio.shield(self._fetching)
        finally:
            self._fetching = None

    async def _fetch(self) -> None:
        try:
            fetched = await self.client.get(self.jwks_url, _FETCH_TIMEOUT_SECONDS)
            if fetched.status != 200:
                raise FetchError(f"HTTP {fetched.status}")
            keys = parse_jwks(fetched.json())
        except Exception as exc:
            logger.warning("cannot fetch the JWKS from %s: %r", self.jwks_url, exc)
            return
        if not keys:
            logger.warning("the JWKS at %s has no usable RS256 key", self.jwks_url)
            return
        if self._verified.rekeyed(self._keys, keys):
            logger.info("JWKS keys now %s", sorted(keys))
        self._keys = keys
        self._fetched_at = time.monotonic()

"""Access-token verification shared by every service that accepts mainapp's JWTs.

mainapp signs access tokens with RS256 and publishes its public keys as a JWKS. Every service
(and the gateway, as a first line) verifies tokens itself with those keys.
:func:`verify_access_token` is the one rule set: RS256 only, the key chosen by ``kid``, ``exp``,
``iss`` and ``aud`` checked, required claims present, ``token_type`` is ``access``.
:class:`JWKSCache` keeps the keys and fetches them again on an unknown ``kid``, at most once per
``min_refetch_interval``; it remembers the tokens it verified until they expire
(:class:`VerifiedTokens`, which the gateway uses too). :class:`RevocationList` (given to
``JWKSCache`` as ``revocations=``) refuses tokens of revoked sessions and users, which mainapp
records with :class:`RevocationWriter` (see :mod:`msh_auth.revocation`). :func:`authenticate`
reads the ``Authorization`` header and maps every failure to the same answer in every service,
under one realm (:mod:`msh_auth.bearer`).
"""

from .bearer import REALM, authenticate, challenge, require_staff, token_of
from .jwks import JWKSCache, KeySet, fetch_jwks
from .revocation import (
    STREAM_KEY,
    RevocationList,
    RevocationUnavailable,
    RevocationWriter,
)
from .tokens import InvalidToken, Principal, verify_access_token
from .verified import VerifiedTokens

__all__ = [
    "REALM",
    "STREAM_KEY",
    "InvalidToken",
    "JWKSCache",
    "KeySet",
    "Principal",
    "RevocationList",
    "RevocationUnavailable",
    "RevocationWriter",
    "VerifiedTokens",
    "authenticate",
    "challenge",
    "fetch_jwks",
    "require_staff",
    "token_of",
    "verify_access_token",
]

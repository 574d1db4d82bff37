"""mainapp's side of token revocation (msh_auth.revocation): it writes, and it reads too.

Writes happen inside the caller's database transaction and before it commits, so that when
Redis cannot be reached the call fails (503) and nothing changes: never "logged out here, but
the token still works everywhere else".
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.conf import settings

from msh_auth import RevocationList, RevocationWriter


@cache
def writer() -> RevocationWriter:
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    return RevocationWriter.from_url(settings.REDIS_URL, max_token_lifetime=lifetime)


@cache
def revocation_list() -> RevocationList:
    return RevocationList.from_url(
        settings.REDIS_URL, max_staleness=settings.REVOCATION_MAX_STALENESS_SECONDS
    )


def revoke_sessions(sids: Iterable[Any]) -> None:
    for sid in sids:
        writer().revoke_session(str(sid))


def revoke_user(user_id: Any) -> None:
    writer().revoke_user(str(user_id))

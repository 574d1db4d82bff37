"""Small conversions between Python values and stored documents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """Document ids are UUID strings, like every id the platform passes around."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    # MongoDB keeps milliseconds; rounding here makes what we return equal what we read back.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(value: object) -> datetime | None:
    """A stored timestamp as an aware UTC datetime.

    MongoDB returns BSON dates; nx-27017 returns a date written by ``$set`` as a string
    (``"2026-01-02 03:04:05.123000"``), so both are accepted.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None

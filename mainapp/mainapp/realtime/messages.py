"""The messages a notifications socket carries, and the groups that receive them.

Every message is a JSON object with a ``type`` and a ``version`` (of that type's shape), so a
client can ignore what it does not know.
"""

from __future__ import annotations

from typing import Any, Literal

VERSION = 1
EVERYONE = "everyone"
STAFF = "staff"

Audience = Literal["everyone", "staff"]


def user_group(user_id: object) -> str:
    """The group of one user's sockets (every tab, every device)."""
    return f"user.{user_id}"


def order_status(order_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "type": "order.status",
        "version": VERSION,
        "order_id": order_id,
        "status": status,
        "reason": reason,
    }


def session_revoked() -> dict[str, Any]:
    """The socket's session ended elsewhere (logout, password change, account gone)."""
    return {"type": "session.revoked", "version": VERSION}


def announcement(text: str, audience: Audience, sent_at: str) -> dict[str, Any]:
    return {
        "type": "announcement",
        "version": VERSION,
        "text": text,
        "audience": audience,
        "sent_at": sent_at,
    }

"""The event envelope shared by every service (docs/architecture.md, "The event path")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from msh_common.tracing import current_traceparent

ENVELOPE_KEYS = ("id", "type", "version", "occurred_at", "producer", "data", "traceparent")


class InvalidEnvelope(ValueError):
    """A message that is not an event envelope; it is dead-lettered, never retried."""


@dataclass(frozen=True, slots=True)
class Event:
    """One immutable fact that happened in a producer, addressed by a unique id."""

    type: str
    data: dict[str, Any]
    producer: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 1
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    traceparent: str | None = None

    def __post_init__(self) -> None:
        # Carry the producer's trace (the active span, when tracing is on) unless given one.
        if self.traceparent is None:
            object.__setattr__(self, "traceparent", current_traceparent())

    def to_dict(self) -> dict[str, Any]:
        """The wire form: plain JSON types only."""
        return {key: getattr(self, key) for key in ENVELOPE_KEYS}

    @classmethod
    def from_dict(cls, message: Any) -> Event:
        """Parse and validate a received message; raise :class:`InvalidEnvelope` if malformed."""
        if not isinstance(message, dict):
            raise InvalidEnvelope(f"an envelope is a JSON object, got {type(message).__name__}")
        missing = [key for key in ("id", "type", "producer", "data") if key not in message]
        if missing:
            raise InvalidEnvelope(f"missing keys: {', '.join(missing)}")
        try:
            event_id = str(uuid.UUID(str(message["id"])))
        except ValueError as exc:
            raise InvalidEnvelope("id is not a UUID") from exc
        if not isinstance(message["type"], str) or not message["type"]:
            raise InvalidEnvelope("type must be a non-empty string")
        if not isinstance(message["data"], dict):
            raise InvalidEnvelope("data must be a JSON object")
        version = message.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidEnvelope("version must be an integer")
        return cls(
            id=event_id,
            type=message["type"],
            version=version,
            occurred_at=str(message.get("occurred_at") or datetime.now(UTC).isoformat()),
            producer=str(message["producer"]),
            data=message["data"],
            traceparent=message.get("traceparent"),
        )

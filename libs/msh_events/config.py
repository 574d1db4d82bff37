"""The event bus's settings: the same variables, defaults and bounds in every service.

Each service reads them with :meth:`EventsConfig.from_env` and hands the object to
:func:`~msh_events.celery_app.make_celery_app`, :meth:`EventsConfig.retry_policy` and the
relay process, so no service declares them again.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

# variable -> the field it sets
ENVIRONMENT: Mapping[str, str] = {
    # How long a delivered, unacknowledged message waits before Redis hands it out again (a
    # killed worker's message returns after this plus the restore sweep).
    "CELERY_VISIBILITY_TIMEOUT": "visibility_timeout",
    "CELERY_RESTORE_INTERVAL": "restore_interval",
    "EVENTS_MAX_RETRIES": "max_retries",
    "EVENTS_RETRY_BACKOFF_MAX": "retry_backoff_max",
    "EVENTS_HANDLER_DELAY": "handler_delay",  # fault drills only
    "OUTBOX_SWEEP_SECONDS": "outbox_sweep_seconds",
}
_AT_LEAST_ZERO = frozenset({"max_retries", "handler_delay"})  # the others must be above zero


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    # A fault-drill knob: sleep before each event so a drill can kill a worker mid-event.
    handler_delay: float = 0.0

    def countdown(self, retries: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of the capped delay,
        so messages that failed together (a dependency went down) do not retry in lockstep."""
        ceiling = min(self.backoff_base * (2**retries), self.backoff_max)
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class EventsConfig:
    visibility_timeout: int = 300
    restore_interval: int = 5
    max_retries: int = 5
    retry_backoff_max: float = 60.0
    handler_delay: float = 0.0
    outbox_sweep_seconds: float = 2.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value < 0 or (value == 0 and field.name not in _AT_LEAST_ZERO):
                raise ValueError(f"events setting {field.name} out of range: {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EventsConfig:
        """The defaults, overridden by the variables set in ``environ`` (the process's)."""
        environ = os.environ if environ is None else environ
        config = cls()
        for variable, name in ENVIRONMENT.items():
            raw = environ.get(variable)
            if raw is None or not raw.strip():
                continue
            kind = type(getattr(config, name))
            try:
                config = replace(config, **{name: kind(raw)})
            except ValueError as exc:
                raise ValueError(f"{variable}={raw!r}: {exc}") from None
        return config

    def retry_policy(self) -> RetryPolicy:
        """How a failing handler is retried before its event becomes a dead letter."""
        return RetryPolicy(
            max_retries=self.max_retries,
            backoff_max=self.retry_backoff_max,
            handler_delay=self.handler_delay,
        )

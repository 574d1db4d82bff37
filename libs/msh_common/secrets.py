"""Refuse to run in production with a development secret.

Every development default in the top-level ``.env`` carries the marker below, so one rule covers
every secret of every service: in production, a secret that is empty or carries the marker stops
the service at start-up with a message naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping

DEV_SECRET_MARKER = "dev-insecure"  # noqa: S105 - a marker to detect, not a secret


class InsecureConfiguration(RuntimeError):
    """Raised at start-up when production would run with a development secret."""


def refuse_dev_secrets(environment: str, secrets: Mapping[str, str | None]) -> None:
    """Raise :class:`InsecureConfiguration` if ``environment`` is production and any secret is
    missing or still a development default."""
    if environment != "production":
        return
    weak = sorted(
        name for name, value in secrets.items() if not value or DEV_SECRET_MARKER in value
    )
    if weak:
        raise InsecureConfiguration(
            "ENVIRONMENT=production but these secrets are unset or still development defaults: "
            + ", ".join(weak)
        )

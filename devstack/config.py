"""The platform's configuration for native runs: the top-level ``.env`` under the environment."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".env"
RUN_DIR = ROOT / ".run"

# .env values that are paths relative to the repository root
PATH_VARIABLES = ("JWT_PRIVATE_KEYS_DIR", "EMAIL_FILE_PATH")


def load_env(env_file: Path = ENV_FILE) -> dict[str, str]:
    """``.env`` defaults overridden by the real environment (twelve-factor: env wins)."""
    values = {key: value for key, value in dotenv_values(env_file).items() if value is not None}
    values.update(os.environ)
    for key in PATH_VARIABLES:
        if key in values and not Path(values[key]).is_absolute():
            values[key] = str(ROOT / values[key])
    return values

"""mainapp refuses to start in production with a development secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MAINAPP_DIR = Path(__file__).resolve().parent.parent


def start_mainapp(**overrides: str) -> subprocess.CompletedProcess:
    """Load mainapp's settings in a fresh interpreter, as every server process does."""
    env = {**os.environ, **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"],
        cwd=MAINAPP_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_with_the_development_secret_key_refuses_to_start():
    result = start_mainapp(ENVIRONMENT="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "development defaults" in result.stderr


def test_production_with_real_secrets_starts():
    result = start_mainapp(
        ENVIRONMENT="production",
        DJANGO_SECRET_KEY="x" * 50 + "-a-real-random-production-value",
        MAINAPP_DATABASE_URL="postgres://msh:a-real-db-password@127.0.0.1:5432/mainapp",
        ADMIN_PASSWORD="a-real-admin-password",
    )
    assert result.returncode == 0, result.stderr


def test_development_accepts_development_defaults():
    assert start_mainapp(ENVIRONMENT="development").returncode == 0

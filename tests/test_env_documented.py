"""Every variable a service reads is in the top-level .env (set, or commented where the launcher
or the deployment provides it), so .env is the complete list of what can be configured."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from msh_events.config import ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
ENV_LINE = re.compile(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
DJANGO_ENV_READ = re.compile(
    r"""env\.?\w*\(\s*["']([A-Z][A-Z0-9_]*)["']|["']([A-Z][A-Z0-9_]*)["'] in env"""
)

# pydantic-settings services: (folder, module with a Settings class)
PYDANTIC_SERVICES = [
    ("gateway", "gateway.settings"),
    ("microservices/catalog", "catalog.settings"),
    ("microservices/orders", "orders.settings"),
]


def documented() -> set[str]:
    return set(ENV_LINE.findall((ROOT / ".env").read_text()))


def pydantic_variables(folder: str, module: str) -> set[str]:
    """The environment names of a Settings class's fields (case-insensitive, no prefix); an
    ``EventsConfig`` field stands for the event bus's variables."""
    code = (
        f"from {module} import Settings\n"
        "from msh_events.config import ENVIRONMENT, EventsConfig\n"
        "for name, field in Settings.model_fields.items():\n"
        "    if field.annotation is EventsConfig:\n"
        "        print(*ENVIRONMENT)\n"
        "    else:\n"
        "        print((field.validation_alias or field.alias or name).upper())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / folder, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(("folder", "module"), PYDANTIC_SERVICES)
def test_every_setting_of_a_pydantic_service_is_in_dot_env(folder, module):
    missing = pydantic_variables(folder, module) - documented()
    assert not missing, f"{folder} reads variables missing from .env: {sorted(missing)}"


def test_every_setting_mainapp_reads_is_in_dot_env():
    source = (ROOT / "mainapp/mainapp/settings.py").read_text()
    read = {a or b for a, b in DJANGO_ENV_READ.findall(source)}
    if "EventsConfig.from_env()" in source:
        read |= set(ENVIRONMENT)
    assert "DJANGO_SECRET_KEY" in read  # the pattern finds what it should
    missing = read - documented()
    assert not missing, f"mainapp reads variables missing from .env: {sorted(missing)}"

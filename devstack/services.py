"""What runs on top of the data stores: every service, worker and relay, as commands.

One list serves ``make dev`` (handed to honcho) and the whole-stack tests (started one by one so
a test can kill and restart a worker).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .config import ROOT

PYTHON = sys.executable


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    health_url: str | None = None


def mainapp_command(*args: str) -> tuple[str, ...]:
    return (PYTHON, "manage.py", *args)


def service_processes(env: Mapping[str, str]) -> list[ProcessSpec]:
    """The platform's long-running processes, the gateway last."""
    mainapp_dir = ROOT / "mainapp"
    gateway_dir = ROOT / "gateway"
    mainapp_port = env["MAINAPP_PORT"]
    gateway_port = env["GATEWAY_PORT"]
    return [
        ProcessSpec(
            "mainapp",
            (
                PYTHON,
                "-m",
                "gunicorn",
                "mainapp.wsgi:application",
                "--bind",
                f"127.0.0.1:{mainapp_port}",
                "--workers",
                env.get("MAINAPP_WEB_WORKERS", "2"),
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--graceful-timeout",
                "5",
                "--timeout",
                "30",
            ),
            mainapp_dir,
            health_url=f"http://127.0.0.1:{mainapp_port}/health",
        ),
        ProcessSpec(
            "mainapp-worker",
            (
                PYTHON,
                "-m",
                "celery",
                "-A",
                "mainapp.worker",
                "worker",
                "--queues",
                "mainapp",
                "--pool",
                "threads",
                "--concurrency",
                env.get("MAINAPP_WORKER_CONCURRENCY", "4"),
                "--loglevel",
                env.get("LOG_LEVEL", "INFO"),
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                "mainapp@%h",
            ),
            mainapp_dir,
        ),
        ProcessSpec("mainapp-relay", mainapp_command("relay_outbox"), mainapp_dir),
        ProcessSpec(
            "gateway",
            (
                PYTHON,
                "-m",
                "uvicorn",
                "--factory",
                "gateway.app:create_app",
                "--host",
                env.get("GATEWAY_HOST", "127.0.0.1"),
                "--port",
                gateway_port,
                "--no-access-log",
                "--no-proxy-headers",  # X-Forwarded-* from a client is never trusted
                "--no-server-header",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
            ),
            gateway_dir,
            health_url=f"http://127.0.0.1:{gateway_port}/health",
        ),
    ]


def setup_commands() -> list[ProcessSpec]:
    """One-shot jobs before the services start: keys, migrations, static files, demo seed."""
    mainapp_dir = ROOT / "mainapp"
    return [
        ProcessSpec("mainapp-jwt-key", mainapp_command("ensure_jwt_key"), mainapp_dir),
        ProcessSpec("mainapp-migrate", mainapp_command("migrate", "--noinput"), mainapp_dir),
        ProcessSpec(
            "mainapp-static", mainapp_command("collectstatic", "--noinput", "-v0"), mainapp_dir
        ),
        ProcessSpec("mainapp-seed", mainapp_command("ensure_admin"), mainapp_dir),
    ]

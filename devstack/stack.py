"""The platform natively: data stores, then one-shot jobs, then services (``make dev``, tests)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from .infra import Infra
from .servers import free_port
from .services import ProcessSpec, service_processes, setup_commands


class Platform:
    """Everything ``make dev`` runs, rooted in one run directory.

    ``settings`` is the merged configuration (``.env`` under the environment); ``free_ports``
    gives every service a free port too (tests), else they use the configured ports.
    """

    def __init__(
        self,
        run_dir: Path,
        settings: Mapping[str, str],
        *,
        durable: bool = True,
        free_ports: bool = False,
    ) -> None:
        self.run_dir = run_dir
        self.settings = dict(settings)
        if free_ports:
            for key in ("GATEWAY_PORT", "MAINAPP_PORT", "ORDERS_PORT", "CATALOG_PORT"):
                self.settings[key] = str(free_port())
            self.settings["PUBLIC_URL"] = f"http://127.0.0.1:{self.settings['GATEWAY_PORT']}"
        self.infra = Infra(run_dir / "data", self.settings, durable=durable)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings['GATEWAY_PORT']}"

    def env(self) -> dict[str, str]:
        """The environment of every process: configuration, server URLs, upstream URLs."""
        env = {**self.settings, **self.infra.env()}
        env["MAINAPP_URL"] = f"http://127.0.0.1:{env['MAINAPP_PORT']}"
        env["ORDERS_URL"] = f"http://127.0.0.1:{env.get('ORDERS_PORT', '8003')}"
        env["CATALOG_URL"] = f"http://127.0.0.1:{env.get('CATALOG_PORT', '8002')}"
        env.setdefault("MAINAPP_STATIC_ROOT", str(self.run_dir / "static"))
        env.setdefault("EMAIL_FILE_PATH", str(self.run_dir / "mail"))
        env.setdefault("JWT_PRIVATE_KEYS_DIR", str(self.run_dir / "jwt-keys"))
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start_infra(self) -> None:
        self.infra.start()

    def run_setup(self) -> None:
        """Keys, migrations, static files and the demo seed; each must succeed."""
        env = self.env()
        for job in setup_commands():
            result = subprocess.run(
                job.argv,
                cwd=job.cwd,
                env={**env, **job.env},
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"{job.name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                )

    def processes(self) -> list[ProcessSpec]:
        return service_processes(self.env())

    def stop_infra(self) -> None:
        self.infra.stop()


def wait_healthy(url: str, timeout: float, is_alive=lambda: True) -> None:
    """Poll a /health URL until it answers 200 (the gateway's means every upstream is)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not is_alive():
            raise RuntimeError(f"a process died before {url} became healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return
        except Exception as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f}s ({last})")

"""The platform natively: data stores, then one-shot jobs, then services (``make dev``, tests)."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from .infra import Infra
from .processes import ServiceProcess
from .servers import free_port, throwaway_dir
from .services import ProcessSpec, service_processes, setup_commands, with_replicas


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
        replicas: Mapping[str, int] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.settings = dict(settings)
        self.replicas = dict(replicas or {})
        if free_ports:
            for key in (
                "GATEWAY_PORT",
                "MAINAPP_PORT",
                "ORDERS_PORT",
                "CATALOG_PORT",
            ):
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
        env["MAINAPP_WS_URL"] = env["MAINAPP_URL"]  # one process serves the API and the sockets
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
        run_jobs(setup_commands(), self.env())

    def processes(self) -> list[ProcessSpec]:
        """Every long-running process; with ``replicas`` (``{"catalog": 2}``), copies of those
        services behind the gateway's balancing."""
        specs = service_processes(self.env())
        if self.replicas:
            specs = with_replicas(specs, self.env(), self.replicas, free_port)
        return specs

    def stop_infra(self) -> None:
        self.infra.stop()


class PlatformRun:
    """The whole platform in a throwaway directory on free ports, every process under the
    caller's hands (kill one, start it again): what the whole-stack tests, the benchmarks, the
    fault drills and ``python -m devstack openapi`` run. ``make dev`` runs the same processes
    under honcho instead.

    ``settings`` is the configuration (usually ``.env`` plus overrides); ``durable`` data stores
    sync to disk like compose's (fault drills), else they trade safety for speed (tests).
    """

    # Paths the platform puts in its own run directory, whatever .env says.
    RUN_PATHS = ("JWT_PRIVATE_KEYS_DIR", "EMAIL_FILE_PATH", "MAINAPP_STATIC_ROOT")

    def __init__(
        self,
        settings: Mapping[str, str],
        *,
        prefix: str = "msh-run-",
        durable: bool = False,
        replicas: Mapping[str, int] | None = None,
    ) -> None:
        self.run_dir = throwaway_dir(prefix)
        settings = {k: v for k, v in settings.items() if k not in self.RUN_PATHS}
        self.platform = Platform(
            self.run_dir, settings, durable=durable, free_ports=True, replicas=replicas
        )
        self.env = self.platform.env()
        self.processes: dict[str, ServiceProcess] = {}

    @property
    def url(self) -> str:
        return self.platform.gateway_url

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    def start(self, health_timeout: float = 120) -> None:
        """Data stores, one-shot jobs, every process; return once the gateway is healthy."""
        print("starting the platform (data stores, migrations, seed, services)...", flush=True)
        self.platform.start_infra()
        self.platform.run_setup()
        # As compose's depends_on: the gateway starts once the services answer, so that its
        # first fetch of mainapp's JWKS finds mainapp listening.
        specs = self.platform.processes()
        services = [spec for spec in specs if spec.name != "gateway"]
        gateway = [spec for spec in specs if spec.name == "gateway"]
        try:
            for spec in services:
                self._start(spec)
            for spec in services:
                if spec.health_url:
                    wait_healthy(spec.health_url, timeout=health_timeout)
            for spec in gateway:
                self._start(spec)
            wait_healthy(f"{self.url}/health", timeout=health_timeout)
        except Exception:
            for process in self.processes.values():
                print(f"===== {process.spec.name} =====\n{process.log()[-3000:]}", flush=True)
            raise

    def _start(self, spec: ProcessSpec) -> None:
        self.processes[spec.name] = ServiceProcess(spec, self.env, self.log_dir)
        self.processes[spec.name].start()

    def restart(self, name: str, **extra_env: str) -> ServiceProcess:
        """Start process ``name`` again (stopping it first if it still runs)."""
        old = self.processes[name]
        old.stop()
        new = ServiceProcess(old.spec, {**self.env, **extra_env}, self.log_dir)
        new.start()
        self.processes[name] = new
        return new

    def stop(self, keep_logs: Path | None = None) -> None:
        """Stop everything and remove the run directory, its logs copied to ``keep_logs``."""
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.platform.stop_infra()
        if keep_logs is not None:
            shutil.rmtree(keep_logs, ignore_errors=True)
            if self.log_dir.exists():
                shutil.copytree(self.log_dir, keep_logs)
            keep_logs.mkdir(parents=True, exist_ok=True)
            for server in self.platform.infra.servers:
                log_path = getattr(server, "log_path", None)
                if log_path is not None and log_path.exists():
                    shutil.copy(log_path, keep_logs)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> PlatformRun:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_jobs(jobs: Iterable[ProcessSpec], env: Mapping[str, str]) -> None:
    """Run one-shot jobs in order; the first that fails raises with its output."""
    for job in jobs:
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

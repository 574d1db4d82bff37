"""Service processes under a test's control: start, kill (any signal), restart, read logs.

``make dev`` runs the same :class:`ProcessSpec` list under honcho; tests need to kill one worker
with SIGKILL and start it again, which a process manager that stops everything when one process
exits cannot do.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .services import ProcessSpec


class ServiceProcess:
    def __init__(self, spec: ProcessSpec, env: Mapping[str, str], log_dir: Path) -> None:
        self.spec = spec
        self.env = {**env, **spec.env}
        self.log_path = log_dir / f"{spec.name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.spec.argv,
                cwd=self.spec.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        """Signal the whole process group (a server and any children it forked)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgements; what a crash looks like."""
        if self.process is not None:
            self.signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 15) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

"""System packages the native stack needs, installed with apt-get when missing.

Run as ``python -m devstack.system`` (``make install`` does). Only the standard library is used
here, because it runs before the virtual environment exists.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

# executable -> Debian package that provides it
REQUIRED = {
    "redis-server": "redis-server",
    "postgres": "postgresql",
    "node": "nodejs",  # builds the browser app (frontend/)
    "npm": "npm",
}
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM = "/usr/bin/chromium"
# Only the browser tests need it: when it cannot be installed, the rest still runs and those
# tests fail saying so (tests/conftest.py).
OPTIONAL = "chromium"


class MissingSystemPackage(RuntimeError):
    pass


def postgres_bin_dir() -> str | None:
    """The newest PostgreSQL server binaries directory (Debian keeps them off PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return os.path.dirname(candidates[-1])
    on_path = shutil.which("postgres")
    if on_path and shutil.which("pg_isready"):
        return os.path.dirname(on_path)
    return None


def missing_packages() -> list[str]:
    missing = []
    if not shutil.which("redis-server"):
        missing.append(REQUIRED["redis-server"])
    if not postgres_bin_dir():
        missing.append(REQUIRED["postgres"])
    for executable in ("node", "npm"):
        if not shutil.which(executable):
            missing.append(REQUIRED[executable])
    if not os.path.exists(CHROMIUM):
        missing.append(OPTIONAL)
    return missing


def ensure_system_packages() -> None:
    """Install what is missing with apt-get, or say exactly what to install."""
    missing = missing_packages()
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    can_apt = shutil.which("apt-get") is not None
    if can_apt and os.geteuid() == 0:
        print(f"devstack: installing {' '.join(missing)} with apt-get", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(command, check=True, env=env)
    elif can_apt and shutil.which("sudo"):
        subprocess.run(["sudo", "apt-get", "update", "-qq"], check=True)
        subprocess.run(["sudo", *command], check=True)
    still = [name for name in missing_packages() if name != OPTIONAL]
    if OPTIONAL in missing_packages():
        print(
            f"devstack: {CHROMIUM} is missing (sudo apt-get install chromium); "
            "the browser tests will fail without it",
            file=sys.stderr,
        )
    if still:
        raise MissingSystemPackage(
            "missing system packages: "
            + " ".join(still)
            + f"; install them with: sudo apt-get install {' '.join(still)}"
        )


if __name__ == "__main__":
    try:
        ensure_system_packages()
    except (MissingSystemPackage, subprocess.CalledProcessError) as exc:
        sys.exit(f"devstack: {exc}")

"""Build the browser app (``frontend/dist``) when its sources changed.

``python -m devstack.frontend`` (``make dev``, ``make test`` and the launcher's setup run it):
``npm ci`` when ``node_modules`` is missing or older than the lockfile, then ``npm run build``
when any source is newer than ``dist/index.html``. Only the standard library is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FRONTEND = ROOT / "frontend"
DIST_INDEX = FRONTEND / "dist" / "index.html"
# What the build reads, besides node_modules.
SOURCES: tuple[str, ...] = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


def _newest(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            for root, _dirs, files in os.walk(path):
                for name in files:
                    newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def needs_install() -> bool:
    marker = FRONTEND / "node_modules" / ".package-lock.json"  # written by npm ci/install
    return _mtime(marker) < _mtime(FRONTEND / "package-lock.json")


def needs_build() -> bool:
    return _mtime(DIST_INDEX) < _newest([FRONTEND / name for name in SOURCES])


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "devstack: npm is missing; install Node.js 20+ (sudo apt-get install nodejs npm)"
        )
    print(f"devstack: npm {' '.join(args)} (frontend/)", file=sys.stderr, flush=True)
    subprocess.run([npm, *args], cwd=FRONTEND, check=True)


def ensure_built() -> bool:
    """Install and build as needed; True when something was built."""
    if needs_install():
        _npm("ci", "--no-audit", "--no-fund")
    if not needs_build():
        return False
    _npm("run", "build")
    os.utime(DIST_INDEX)  # newer than every source, even one touched during the build
    return True


if __name__ == "__main__":
    try:
        ensure_built()
    except subprocess.CalledProcessError as exc:
        sys.exit(f"devstack: frontend build failed: {exc}")
